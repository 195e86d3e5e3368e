"""The loss on the GPU: per-row kernels made from the table of fastnn/kernels/losses.py.

``loss_rows(code)`` is loss ``code``'s kernel, one thread per row of the batch, calling that
entry's formulas: it writes row i's gradient dL/d(out) (dL/dz when ``fused``) and its weighted
statistics into ``row_stats``:

    [ROW_LOSS]     w_i sum_j l_ij (before the batch's 1 / (k sum w) or 1 / sum w scale)
    [ROW_CORRECT]  w_i (correct predictions in the row: elements for binary accuracy, else 0/1)
    [ROW_ABS_ERR]  w_i sum_j |o_ij - t_ij|     [ROW_SQ_ERR]  w_i sum_j (o_ij - t_ij)^2
                   (against the one-hot row for sparse class-index targets)
    [ROW_WEIGHT]   w_i

The gradient's scale needs the batch's weight sum first: ``launch_loss_rows`` has
reductions.weight_total leave it in ``total[0]`` (the row count without weights).
fastnn/cuda/reductions.py then sums the row statistics (deterministically) into the epoch's.
"""

import functools

import numpy as np
from numba import cuda

from ..kernels.losses import (LOSSES, logits_gradient, mean_scale, row_correct,
                              row_errors, target)
from ._launch import device, grid
from .reductions import (REDUCE_THREADS, ROW_ABS_ERR, ROW_CORRECT, ROW_LOSS, ROW_SQ_ERR,
                         ROW_WEIGHT, weight_total)


@functools.cache
def loss_rows(code):
    entry = LOSSES[code]
    value, gradient = device(entry.value), device(entry.gradient)
    sparse, per_row = entry.sparse_targets, entry.per_row
    scale_of, target_of, fused_gradient = device(mean_scale), device(target), \
        device(logits_gradient)
    correct_of, errors_of = device(row_correct), device(row_errors)

    @cuda.jit
    def kernel(out, y, weights, total, grad, rows, param, fused, rule, threshold, row_stats):
        i = cuda.grid(1)
        if i >= rows:
            return
        cols = out.shape[1]
        w = weights[i] if weights.shape[0] > 0 else 1.0
        row_scale = w * scale_of(total[0], cols, per_row)
        loss = 0.0
        for j in range(cols):
            o = out[i, j]
            t = target_of(y, i, j, sparse)
            loss += w * value(o, t, param)
            g = fused_gradient(o, t) if fused else gradient(o, t, param)
            grad[i, j] = g * row_scale
        abs_err, sq_err = errors_of(out, y, i, sparse)
        row_stats[i, ROW_LOSS] = loss
        row_stats[i, ROW_CORRECT] = w * correct_of(rule, out, y, i, threshold)
        row_stats[i, ROW_ABS_ERR] = w * abs_err
        row_stats[i, ROW_SQ_ERR] = w * sq_err
        row_stats[i, ROW_WEIGHT] = w
    return kernel


def launch_loss_rows(code, out, y, weights, total, grad, rows, param, fused, rule, threshold,
                     row_stats):
    """The weight total into ``total`` (a float64 device array of 1), then the row kernel."""
    weight_total[1, REDUCE_THREADS](weights, rows, total)
    loss_rows(code)[grid(rows)](out, y, weights, total, grad, rows, np.float64(param), fused,
                                rule, np.float64(threshold), row_stats)

