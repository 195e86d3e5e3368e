"""CUDA twins of fastnn/kernels/losses.py: the loss gradient and the per-row training stats.

``loss_rows`` runs one thread per row of the batch: it writes the row's gradient dL/d(out)
(dL/dz when ``fused``: sigmoid+BCE and softmax+CE fold in the output activation, exactly as on the
CPU) and the row's four statistics into ``row_stats``:

    [ROW_LOSS]     sum over the row of the loss terms (before the 1/(Bk) or 1/B scale)
    [ROW_CORRECT]  correct predictions in the row (elements for binary accuracy, 0/1 otherwise)
    [ROW_ABS_ERR]  sum_j |o_ij - y_ij|        [ROW_SQ_ERR]  sum_j (o_ij - y_ij)^2
                   (against the one-hot row for sparse class-index targets)

fastnn/cuda/reductions.py then sums them over the rows (deterministically) into the epoch stats.
The formulas are those of the CPU kernel, term for term; see its docstring.
"""

import math

import numpy as np
from numba import cuda

from ..kernels.losses import (BCE, BINARY_ACCURACY, CCE, EPSILON, HINGE, HUBER, MAE, MSE,
                              ONEHOT_ACCURACY, SCCE, SPARSE_ACCURACY)
from ._launch import grid

ROW_LOSS, ROW_CORRECT, ROW_ABS_ERR, ROW_SQ_ERR = range(4)
N_ROW_STATS = 4


@cuda.jit(device=True)
def clip_probability(o):
    """min(max(o, eps), 1 - eps), written out (the built-in numba.cuda of Numba 0.68 cannot
    compile the ``max`` and ``min`` builtins on floats)."""
    if o < EPSILON:
        return EPSILON
    if o > 1.0 - EPSILON:
        return 1.0 - EPSILON
    return o


@cuda.jit(device=True)
def row_correct(rule, out, y, i, threshold):
    """Correct predictions in row i (the CPU's count_correct, one row)."""
    cols = out.shape[1]
    correct = 0
    if rule == BINARY_ACCURACY:
        for j in range(cols):
            if (out[i, j] > threshold) == (y[i, j] > threshold):
                correct += 1
    elif rule == ONEHOT_ACCURACY or rule == SPARSE_ACCURACY:
        best = 0
        for j in range(1, cols):
            if out[i, j] > out[i, best]:
                best = j
        if rule == SPARSE_ACCURACY:
            truth = int(y[i, 0])
        else:
            truth = 0
            for j in range(1, cols):
                if y[i, j] > y[i, truth]:
                    truth = j
        if best == truth:
            correct = 1
    return correct


@cuda.jit(device=True)
def row_errors(out, y, i, sparse):
    """(sum_j |o_ij - t_ij|, sum_j (o_ij - t_ij)^2), t the one-hot of y_i for sparse targets."""
    abs_err = 0.0
    sq_err = 0.0
    for j in range(out.shape[1]):
        if sparse:
            e = out[i, j] - (1.0 if j == int(y[i, 0]) else 0.0)
        else:
            e = out[i, j] - y[i, j]
        abs_err += abs(e)
        sq_err += e * e
    return abs_err, sq_err


@cuda.jit
def loss_rows(code, out, y, grad, rows, param, fused, rule, threshold, row_stats):
    """Row i's gradient into ``grad`` and its statistics into ``row_stats[i]``."""
    i = cuda.grid(1)
    if i >= rows:
        return
    cols = out.shape[1]
    scale = 1.0 / (rows * cols)
    total = 0.0
    if code == MSE:
        for j in range(cols):
            r = out[i, j] - y[i, j]
            total += r * r
            grad[i, j] = 2.0 * r * scale
    elif code == MAE:
        for j in range(cols):
            r = out[i, j] - y[i, j]
            total += abs(r)
            grad[i, j] = (1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)) * scale
    elif code == HUBER:
        for j in range(cols):
            r = out[i, j] - y[i, j]
            if abs(r) <= param:
                total += 0.5 * r * r
                grad[i, j] = r * scale
            else:
                total += param * (abs(r) - 0.5 * param)
                grad[i, j] = (param if r > 0.0 else -param) * scale
    elif code == BCE:
        for j in range(cols):
            p = clip_probability(out[i, j])
            t = y[i, j]
            total -= t * math.log(p) + (1.0 - t) * math.log(1.0 - p)
            if fused:
                grad[i, j] = (out[i, j] - t) * scale
            else:
                grad[i, j] = (p - t) / (p * (1.0 - p)) * scale
    elif code == CCE:
        scale = 1.0 / rows
        for j in range(cols):
            p = clip_probability(out[i, j])
            total -= y[i, j] * math.log(p)
            if fused:
                grad[i, j] = (out[i, j] - y[i, j]) * scale
            else:
                grad[i, j] = -y[i, j] / p * scale
    elif code == SCCE:
        scale = 1.0 / rows
        c = int(y[i, 0])
        for j in range(cols):
            p = clip_probability(out[i, j])
            if j == c:
                total -= math.log(p)
                grad[i, j] = (out[i, j] - 1.0) * scale if fused else -scale / p
            else:
                grad[i, j] = out[i, j] * scale if fused else 0.0
    elif code == HINGE:
        for j in range(cols):
            margin = 1.0 - y[i, j] * out[i, j]
            if margin > 0.0:
                total += margin
                grad[i, j] = -y[i, j] * scale
            else:
                grad[i, j] = 0.0
    abs_err, sq_err = row_errors(out, y, i, code == SCCE)
    row_stats[i, ROW_LOSS] = total
    row_stats[i, ROW_CORRECT] = row_correct(rule, out, y, i, threshold)
    row_stats[i, ROW_ABS_ERR] = abs_err
    row_stats[i, ROW_SQ_ERR] = sq_err


def loss_scale(code, rows, cols):
    """The factor that turns the summed row losses into the batch's mean loss."""
    return 1.0 / rows if code in (CCE, SCCE) else 1.0 / (rows * cols)


def launch_loss_rows(code, out, y, grad, rows, param, fused, rule, threshold, row_stats):
    loss_rows[grid(rows)](code, out, y, grad, rows, np.float64(param), fused, rule,
                          np.float64(threshold), row_stats)
