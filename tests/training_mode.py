"""Test helper: run a built model's compiled forward pass in training mode."""

import numpy as np

from fastnn.kernels import network


def training_forward(model, X, step=0):
    """The network's output on X as one batch in training mode (batch statistics, the dropout
    masks of update ``step``), without changing any state."""
    X = np.ascontiguousarray(X, dtype=model.dtype)
    ops, opf, workspace = model.plan.tables(X.shape[0])
    acts = np.empty(workspace, dtype=model.dtype)
    out = network.forward(ops, opf, model.params, model.state, X, acts, True, model._mask_seed,
                          step)
    return out.copy()
