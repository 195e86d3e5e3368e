"""Test helper: run a built model's compiled forward pass in training mode."""

import numba
import numpy as np

from fastnn.kernels import network


@numba.njit
def _forward(net, X, seed, step):
    network.forward(net, X, True, seed, step)


def training_forward(model, X, step=0):
    """The network's output on X as one batch in training mode (batch statistics, the dropout
    masks of update ``step``), without changing any state."""
    X = np.ascontiguousarray(X, dtype=model.dtype)
    ops, opf, workspace = model.plan.tables(X.shape[0])
    acts = np.empty(workspace, dtype=model.dtype)
    net = network.Network(ops, opf, model.params, model.grads, model.state, acts, acts.copy(),
                          None)
    _forward(net, X, model.training_state.mask_seed, step)
    start, width = ops[-1, network.OPS.a_off], ops[-1, network.OPS.n_out]
    return acts[start:start + X.shape[0] * width].reshape(X.shape[0], width).copy()
