"""Test helper: run a built model's compiled forward pass in training mode."""

import numpy as np

from fastnn.kernels import losses, network, training
from fastnn.losses import LOSSES


def training_forward(model, X, step=0):
    """The network's output on X as one batch in training mode (batch statistics, the dropout
    masks of update ``step``), without changing any state: the forward pass of the compiled
    ``batch_gradients``, whose gradients go to a scratch buffer."""
    X = np.ascontiguousarray(X, dtype=model.dtype)
    ops, opf, workspace = model.plan.tables(X.shape[0])
    acts = np.empty(workspace, dtype=model.dtype)
    net = network.Network(ops, opf, model.params, np.zeros_like(model.params), model.state,
                          acts, acts.copy(), None)
    width = ops[-1, network.OPS.n_out]
    mse = training.LossSettings(LOSSES["mse"].code, 0.0, False, 0, 0.5)
    training.batch_gradients(X, np.zeros((X.shape[0], width), dtype=model.dtype),
                             losses.NO_WEIGHTS, net, mse, model.training_state.mask_seed,
                             np.int64(step))
    start = ops[-1, network.OPS.a_off]
    return acts[start:start + X.shape[0] * width].reshape(X.shape[0], width).copy()
