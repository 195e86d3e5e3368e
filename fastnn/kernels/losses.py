"""Losses: each one's formulas, written once, and the table both backends run them from.

A loss is a per-element term l(o, t) of the output o and the target t and its derivative
dl/do (``param`` is the loss's one hyperparameter, huber's delta; eps = 1e-7, the Keras clip,
wherever a log is taken; p = clip(o, eps, 1 - eps)):

    mse     l = (o - t)^2                                   dl/do = 2 (o - t)
    mae     l = |o - t|                                     dl/do = sign(o - t)
    huber   l = r^2 / 2 if |r| <= d else d (|r| - d / 2)    dl/do = clip(r, -d, d)   (r = o - t)
    bce     l = -(t log p + (1 - t) log(1 - p))             dl/do = (p - t) / (p (1 - p))
    cce     l = -t log p                                    dl/do = -t / p
    scce    cce with t = [j = c_i], c_i = y_i the integer class index of row i
    hinge   l = max(0, 1 - t o)   (t in {-1, 1})            dl/do = -t [t o < 1]

The batch loss is the weighted mean over the rows (w_i = 1 without sample weights):

    L = sum_i w_i sum_j l_ij / (k sum_i w_i)     (cross-entropies, ``per_row``: without the k)

and the kernel writes dL/do (w_i dl/do_ij / (k sum_i w_i)). With ``fused`` the output layer's
activation is sigmoid (bce) or softmax (cce, scce) and the gradient is taken with respect to its
input z instead, in the stable form dl/dz = o - t: the two unstable factors cancel analytically.
A batch whose weights are all zero has loss 0 and gradient 0.

A table entry's position is its code; ``loss_and_gradient`` is the CPU kernel and fastnn/cuda
builds its kernel from the same table.
"""

import math
from typing import Callable, NamedTuple

import numpy as np
from numba import types

from ._jit import kernel
from .table import formula, switch

EPSILON = 1e-7


@formula
def clip_probability(o):
    """min(max(o, eps), 1 - eps), written with comparisons (which every target compiles)."""
    if o < EPSILON:
        return EPSILON
    if o > 1.0 - EPSILON:
        return 1.0 - EPSILON
    return o


# ----------------------------------------------------------------------- the formulas
@formula
def squared_error(o, t, param):
    r = o - t
    return r * r


@formula
def squared_error_gradient(o, t, param):
    return 2.0 * (o - t)


@formula
def absolute_error(o, t, param):
    return abs(o - t)


@formula
def absolute_error_gradient(o, t, param):
    r = o - t
    return 1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)


@formula
def huber(o, t, param):
    r = o - t
    if abs(r) <= param:
        return 0.5 * r * r
    return param * (abs(r) - 0.5 * param)


@formula
def huber_gradient(o, t, param):
    r = o - t
    if abs(r) <= param:
        return r
    return param if r > 0.0 else -param


@formula
def binary_crossentropy(o, t, param):
    p = clip_probability(o)
    return -(t * math.log(p) + (1.0 - t) * math.log(1.0 - p))


@formula
def binary_crossentropy_gradient(o, t, param):
    p = clip_probability(o)
    return (p - t) / (p * (1.0 - p))


@formula
def crossentropy(o, t, param):
    return -t * math.log(clip_probability(o)) if t != 0.0 else 0.0


@formula
def crossentropy_gradient(o, t, param):
    return -t / clip_probability(o)


@formula
def logits_gradient(o, t):
    """dl/dz through the fused output activation (sigmoid for bce, softmax for cce)."""
    return o - t


@formula
def hinge(o, t, param):
    margin = 1.0 - t * o
    return margin if margin > 0.0 else 0.0


@formula
def hinge_gradient(o, t, param):
    return -t if 1.0 - t * o > 0.0 else 0.0



# ----------------------------------------------------------------------- the table
class Loss(NamedTuple):
    """One loss: ``value(o, t, param)`` and ``gradient(o, t, param)`` per element."""

    name: str
    value: Callable
    gradient: Callable
    fused_activation: str | None = None  # output activation whose derivative the loss folds in
    per_row: bool = False                # the mean is over rows, not over all elements
    sparse_targets: bool = False         # targets are integer class indices, one column
    parameter: float = 1.0               # the default of ``param``


LOSSES = (
    Loss("mse", squared_error, squared_error_gradient),
    Loss("mae", absolute_error, absolute_error_gradient),
    Loss("huber", huber, huber_gradient),
    Loss("binary_crossentropy", binary_crossentropy, binary_crossentropy_gradient, "sigmoid"),
    Loss("categorical_crossentropy", crossentropy, crossentropy_gradient, "softmax",
         per_row=True),
    Loss("sparse_categorical_crossentropy", crossentropy, crossentropy_gradient, "softmax",
         per_row=True, sparse_targets=True),
    Loss("hinge", hinge, hinge_gradient),
)
CODES = {entry.name: code for code, entry in enumerate(LOSSES)}
MSE, MAE, HUBER, BCE, CCE, SCCE, HINGE = (CODES[name] for name in (
    "mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "hinge"))


@formula
def target(y, i, j, sparse):
    """Row i, column j of the dense target: y[i, j], or [j = y[i, 0]] for class indices."""
    if sparse:
        return 1.0 if j == int(y[i, 0]) else 0.0
    return y[i, j]


@formula
def weight_sum(weights, rows):
    """sum_i w_i over the batch's rows; ``rows`` when there are no weights (an empty array)."""
    if weights.shape[0] == 0:
        return float(rows)
    total = 0.0
    for i in range(rows):
        total += weights[i]
    return total


@formula
def mean_scale(total_weight, cols, per_row):
    """The factor 1 / (k sum w) (1 / sum w for per-row losses); 0 when the weights sum to 0."""
    if total_weight == 0.0:
        return 0.0
    return 1.0 / total_weight if per_row else 1.0 / (total_weight * cols)


# ----------------------------------------------------------------------- the CPU kernel
def _loss_loop(entry):
    value, gradient, sparse = entry.value, entry.gradient, entry.sparse_targets

    def loop(out, y, weights, grad, param, fused, scale):
        rows, cols = out.shape
        weighted = weights.shape[0] > 0
        total = 0.0
        for i in range(rows):
            w = weights[i] if weighted else 1.0
            row_scale = w * scale
            for j in range(cols):
                o = out[i, j]
                t = target(y, i, j, sparse)
                total += w * value(o, t, param)
                g = logits_gradient(o, t) if fused else gradient(o, t, param)
                grad[i, j] = g * row_scale
        return total * scale
    return loop


_loss_cases = switch([(code, _loss_loop(entry)) for code, entry in enumerate(LOSSES)], "loss",
                     returns=types.float64)
PER_ROW = tuple(entry.per_row for entry in LOSSES)


@formula
def share_of_batch_loss(code, out, y, weights, grad, param, fused, batch_weight, kinds):
    """For some of a batch's rows, whose whole batch's weights sum to ``batch_weight``: their
    share of the batch's weighted mean loss, and their rows of its gradient into ``grad``
    (the shares of a batch's parts add up to ``loss_and_gradient`` of the whole batch)."""
    scale = mean_scale(batch_weight, out.shape[1], PER_ROW[code])
    return _loss_cases(kinds, code, out, y, weights, grad, param, fused, scale)


@kernel
def loss_and_gradient(code, out, y, weights, grad, param, fused, kinds=None):
    """The weighted mean loss of ``out`` against ``y`` (``weights`` one per row, or empty for
    none); dL/d(out) (or dL/dz when ``fused``) goes to ``grad``. ``kinds``: the table entries
    compiled (fastnn/kernels/kinds.py)."""
    rows, cols = out.shape
    scale = mean_scale(weight_sum(weights, rows), cols, PER_ROW[code])
    return _loss_cases(kinds, code, out, y, weights, grad, param, fused, scale)



# Accuracy rules, chosen in Python from the loss and the output width (fastnn.losses).
NO_ACCURACY, BINARY_ACCURACY, ONEHOT_ACCURACY, SPARSE_ACCURACY = range(4)


@formula
def row_correct(rule, out, y, i, threshold):
    """Correct predictions in row i: elements for binary accuracy, 0 or 1 for the others."""
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


@formula
def row_errors(out, y, i, sparse):
    """(sum_j |o_ij - t_ij|, sum_j (o_ij - t_ij)^2), t the one-hot of y_i for class indices."""
    abs_err = 0.0
    sq_err = 0.0
    for j in range(out.shape[1]):
        e = out[i, j] - target(y, i, j, sparse)
        abs_err += abs(e)
        sq_err += e * e
    return abs_err, sq_err



@kernel
def count_correct(rule, out, y, weights, threshold):
    """The weighted number of correct predictions in the batch: sum_i w_i (correct in row i)."""
    weighted = weights.shape[0] > 0
    correct = 0.0
    for i in range(out.shape[0]):
        hits = row_correct(rule, out, y, i, threshold)
        correct += weights[i] * hits if weighted else hits
    return correct


# The weights argument of a batch without sample weights.
NO_WEIGHTS = np.zeros(0, dtype=np.float64)
