"""Loss kernels: the batch loss and its gradient with respect to the network's output.

For a batch of B rows and k outputs, with o the output and y the target (eps = 1e-7, the Keras
clip, wherever a log is taken; p = clip(o, eps, 1 - eps)):

    mse     L = 1/(Bk) sum (o - y)^2                        dL/do = 2 (o - y) / (Bk)
    mae     L = 1/(Bk) sum |o - y|                          dL/do = sign(o - y) / (Bk)
    huber   L = 1/(Bk) sum h(o - y), h(r) = r^2/2 if |r| <= d else d (|r| - d/2)
                                                            dL/do = clip(o - y, -d, d) / (Bk)
    bce     L = -1/(Bk) sum y log p + (1 - y) log(1 - p)    dL/do = (p - y) / (p (1 - p) Bk)
    cce     L = -1/B sum_i sum_j y_ij log p_ij              dL/do = -y / (p B)
    scce    L = -1/B sum_i log p_i,c_i   (c_i = y_i, an integer class index)
                                                            dL/do = -[j = c_i] / (p B)
    hinge   L = 1/(Bk) sum max(0, 1 - y o)   (y in {-1, 1}) dL/do = -y [y o < 1] / (Bk)

With ``fused`` set the output layer's activation is sigmoid (bce) or softmax (cce, scce) and the
gradient is taken with respect to its input z instead, in the stable form dL/dz = (o - y) / (Bk)
(bce) or (o - onehot(y)) / B (cce, scce): the two unstable factors cancel analytically.

``param`` is the loss's one hyperparameter (huber's delta).
"""

import math

from ._jit import kernel

MSE, MAE, HUBER, BCE, CCE, SCCE, HINGE = range(7)

EPSILON = 1e-7


@kernel
def loss_and_gradient(code, out, y, grad, param, fused):
    """The mean batch loss of ``out`` against ``y``; dL/d(out) (or dL/dz) goes to ``grad``."""
    rows, cols = out.shape
    scale = 1.0 / (rows * cols)
    total = 0.0
    if code == MSE:
        for i in range(rows):
            for j in range(cols):
                r = out[i, j] - y[i, j]
                total += r * r
                grad[i, j] = 2.0 * r * scale
    elif code == MAE:
        for i in range(rows):
            for j in range(cols):
                r = out[i, j] - y[i, j]
                total += abs(r)
                grad[i, j] = (1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)) * scale
    elif code == HUBER:
        for i in range(rows):
            for j in range(cols):
                r = out[i, j] - y[i, j]
                if abs(r) <= param:
                    total += 0.5 * r * r
                    grad[i, j] = r * scale
                else:
                    total += param * (abs(r) - 0.5 * param)
                    grad[i, j] = (param if r > 0.0 else -param) * scale
    elif code == BCE:
        for i in range(rows):
            for j in range(cols):
                p = min(max(out[i, j], EPSILON), 1.0 - EPSILON)
                t = y[i, j]
                total -= t * math.log(p) + (1.0 - t) * math.log(1.0 - p)
                if fused:
                    grad[i, j] = (out[i, j] - t) * scale
                else:
                    grad[i, j] = (p - t) / (p * (1.0 - p)) * scale
    elif code == CCE:
        scale = 1.0 / rows
        for i in range(rows):
            for j in range(cols):
                p = min(max(out[i, j], EPSILON), 1.0 - EPSILON)
                total -= y[i, j] * math.log(p)
                if fused:
                    grad[i, j] = (out[i, j] - y[i, j]) * scale
                else:
                    grad[i, j] = -y[i, j] / p * scale
    elif code == SCCE:
        scale = 1.0 / rows
        for i in range(rows):
            c = int(y[i, 0])
            for j in range(cols):
                p = min(max(out[i, j], EPSILON), 1.0 - EPSILON)
                if j == c:
                    total -= math.log(p)
                    grad[i, j] = (out[i, j] - 1.0) * scale if fused else -scale / p
                else:
                    grad[i, j] = out[i, j] * scale if fused else 0.0
    elif code == HINGE:
        for i in range(rows):
            for j in range(cols):
                margin = 1.0 - y[i, j] * out[i, j]
                if margin > 0.0:
                    total += margin
                    grad[i, j] = -y[i, j] * scale
                else:
                    grad[i, j] = 0.0
    return total * scale


# Accuracy rules, chosen in Python from the loss and the output width (fastnn.losses).
NO_ACCURACY, BINARY_ACCURACY, ONEHOT_ACCURACY, SPARSE_ACCURACY = range(4)


@kernel
def count_correct(rule, out, y, threshold):
    """Number of correct predictions in the batch (elements for binary, rows for the others)."""
    rows, cols = out.shape
    correct = 0
    if rule == BINARY_ACCURACY:
        for i in range(rows):
            for j in range(cols):
                if (out[i, j] > threshold) == (y[i, j] > threshold):
                    correct += 1
    elif rule == ONEHOT_ACCURACY or rule == SPARSE_ACCURACY:
        for i in range(rows):
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
                correct += 1
    return correct
