"""Per-layer gradient diagnostics accumulated inside the compiled training loop.

The training loop calls these only when a GradientMonitor asks for them (``monitor`` holds
arrays with one row per op; with zero rows the loop skips both calls). Per batch and per op:

    gradient norm      ||g_l||_2 over the op's parameters, summed over the batches
    non-finite count   number of NaN/inf gradient entries, summed over the batches
    update ratio       ||w_l(after) - w_l(before)||_2 / ||w_l(before)||_2 of the optimizer step,
                       summed over the batches where ||w_l(before)|| > 0 (counted separately;
                       an infinite update makes the sum infinite)
    active units       for ops with a ReLU-family activation: unit j is marked once any row of
                       any batch gives it a positive output

``monitor`` = (layers, snapshot, layer_stats, active):
  layers       int64 (n_ops, 3): parameter span [start, stop) in the flat buffer, and 1 if the
               op's units are tracked for activity (ReLU family), else 0
  snapshot     the parameters before the step (model dtype, n_params)
  layer_stats  float64 (n_ops, N_LAYER_STATS), the LS_* columns below
  active       uint8 (sum of the ops' widths): the ops' units one after another
"""

import math

import numpy as np

from ._jit import kernel
from .network import OPS, op_view

# Columns of layer_stats.
LS_GRAD_NORM, LS_GRAD_NONFINITE, LS_UPDATE_RATIO, LS_RATIO_BATCHES, LS_BATCHES = range(5)
N_LAYER_STATS = 5
# Columns of the layers table.
SPAN_START, SPAN_STOP, TRACK_UNITS = range(3)


@kernel
def mark_active_units(ops, layers, acts, rows, active):
    """active[unit] = 1 for every tracked unit with a positive output in the batch held in
    ``acts`` (the forward pass's outputs of ``rows`` rows)."""
    unit = 0
    for i in range(ops.shape[0]):
        width = ops[i, OPS.n_out]
        if layers[i, TRACK_UNITS]:
            out = op_view(acts, ops, i, rows)
            for r in range(rows):
                for j in range(width):
                    active[unit + j] |= out[r, j] > 0.0
        unit += width


@kernel
def finite_squares(values, start, stop):
    """(sum of squares of the finite values[start:stop], number of NaN/inf among them)."""
    squares = 0.0
    bad = 0
    for k in range(start, stop):
        v = np.float64(values[k])
        if math.isfinite(v):
            squares += v * v
        else:
            bad += 1
    return squares, bad


@kernel
def record_gradients(monitor, ops, params, grads, acts, rows):
    """After backward: add each op's gradient norm and non-finite count, mark active units, and
    keep the parameters before the optimizer step in the snapshot."""
    layers, snapshot, layer_stats, active = monitor
    for i in range(ops.shape[0]):
        start, stop = layers[i, SPAN_START], layers[i, SPAN_STOP]
        squares = 0.0
        for k in range(start, stop):
            g = np.float64(grads[k])
            squares += g * g
        if not math.isfinite(squares):  # rare: count the bad entries, norm of the others
            squares, bad = finite_squares(grads, start, stop)
            layer_stats[i, LS_GRAD_NONFINITE] += bad
        layer_stats[i, LS_GRAD_NORM] += math.sqrt(squares)
        layer_stats[i, LS_BATCHES] += 1.0
    mark_active_units(ops, layers, acts, rows, active)
    for k in range(params.shape[0]):
        snapshot[k] = params[k]


@kernel
def record_updates(monitor, params):
    """After the optimizer step: add each op's update/weight ratio against the snapshot."""
    layers, snapshot, layer_stats, active = monitor
    for i in range(layers.shape[0]):
        moved = 0.0
        size = 0.0
        for k in range(layers[i, SPAN_START], layers[i, SPAN_STOP]):
            before = np.float64(snapshot[k])
            d = np.float64(params[k]) - before
            moved += d * d
            size += before * before
        if size > 0.0:
            layer_stats[i, LS_UPDATE_RATIO] += math.sqrt(moved / size)
            layer_stats[i, LS_RATIO_BATCHES] += 1.0
