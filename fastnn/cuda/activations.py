"""CUDA twins of fastnn/kernels/activations.py: the same formulas, written the same way.

``activation_value`` is a device function: the dense kernel (fastnn/cuda/matmul.py) applies it
in its epilogue, so bias-add and activation cost no extra pass over memory. Softmax needs its
whole row, so the dense kernel leaves the logits (bias added) and ``softmax_rows`` finishes them,
one thread per row. The derivatives are taken from the saved output y = f(z), as on the CPU:

    sigmoid y (1 - y)   tanh 1 - y^2   relu [y > 0]   leaky_relu 1 or a   elu 1 or y + a
    selu s or y + s A   softplus 1 - e^-y   softmax (dz)_j = y_j (dy_j - sum_k dy_k y_k)
"""

import math

import numpy as np
from numba import cuda

from ..kernels.activations import (ELU, LEAKY_RELU, LINEAR, RELU, SELU, SELU_ALPHA, SELU_SCALE,
                                   SIGMOID, SOFTMAX, SOFTPLUS, STEP, TANH)
from ._launch import grid


@cuda.jit(device=True)
def activation_value(code, v, alpha):
    """f(v) for an elementwise activation ``code`` (softmax is done by ``softmax_rows``)."""
    if code == SIGMOID:
        return 1.0 / (1.0 + math.exp(-v))
    if code == TANH:
        return math.tanh(v)
    if code == RELU:
        return v if v > 0.0 else 0.0
    if code == LEAKY_RELU:
        return v if v > 0.0 else alpha * v
    if code == ELU:
        return v if v > 0.0 else alpha * math.expm1(v)
    if code == SELU:
        return SELU_SCALE * (v if v > 0.0 else SELU_ALPHA * math.expm1(v))
    if code == SOFTPLUS:
        return math.log1p(math.exp(-abs(v))) + (v if v > 0.0 else 0.0)
    if code == STEP:
        return 1.0 if v >= 0.0 else 0.0
    return v


@cuda.jit(device=True)
def activation_gradient(code, y, d, alpha):
    """dL/dz from d = dL/dy and the output y, for an elementwise activation ``code``."""
    if code == SIGMOID:
        return d * y * (1.0 - y)
    if code == TANH:
        return d * (1.0 - y * y)
    if code == RELU:
        return d if y > 0.0 else 0.0
    if code == LEAKY_RELU:
        return d if y > 0.0 else alpha * d
    if code == ELU:
        return d if y > 0.0 else d * (y + alpha)
    if code == SELU:
        return d * SELU_SCALE if y > 0.0 else d * (y + SELU_SCALE * SELU_ALPHA)
    if code == SOFTPLUS:
        return d * -math.expm1(-y)
    if code == STEP:
        return 0.0
    return d


@cuda.jit
def softmax_rows(z, rows):
    """In place, one thread per row: z_i <- softmax(z_i) (z already holds the logits)."""
    i = cuda.grid(1)
    if i >= rows:
        return
    cols = z.shape[1]
    top = z[i, 0]
    for j in range(cols):
        if z[i, j] > top:
            top = z[i, j]
    total = 0.0
    for j in range(cols):
        e = math.exp(z[i, j] - top)
        z[i, j] = e
        total += e
    inv = 1.0 / total
    for j in range(cols):
        z[i, j] = z[i, j] * inv


@cuda.jit
def apply_kernel(src, dst, rows, code, alpha):
    """dst = f(src) elementwise on the first ``rows`` rows (LINEAR: a copy)."""
    k = cuda.grid(1)
    cols = src.shape[1]
    if k >= rows * cols:
        return
    i = k // cols
    j = k - i * cols
    dst[i, j] = activation_value(code, src[i, j], alpha)


@cuda.jit
def elementwise_backward(code, y, dy, rows, alpha):
    """In place, one thread per element of the first ``rows`` rows: dy <- dL/dz."""
    k = cuda.grid(1)
    cols = y.shape[1]
    if k >= rows * cols:
        return
    i = k // cols
    j = k - i * cols
    dy[i, j] = activation_gradient(code, y[i, j], dy[i, j], alpha)


@cuda.jit
def softmax_backward_rows(y, dy, rows):
    """In place, one thread per row: dy_j <- y_j (dy_j - sum_k dy_k y_k)."""
    i = cuda.grid(1)
    if i >= rows:
        return
    cols = y.shape[1]
    dot = 0.0
    for j in range(cols):
        dot += dy[i, j] * y[i, j]
    for j in range(cols):
        dy[i, j] = y[i, j] * (dy[i, j] - dot)


def copy_rows(src, dst, rows):
    """dst[:rows] = src[:rows]."""
    apply_kernel[grid(rows * src.shape[1])](src, dst, rows, LINEAR, 0.0)


def apply(code, src, dst, rows, alpha):
    """dst = f(src) on the first ``rows`` rows, for any activation (the Activation layer)."""
    apply_kernel[grid(rows * src.shape[1])](src, dst, rows, epilogue_code(code),
                                            np.float64(alpha))
    activate_rows(code, dst, rows)


def activate_rows(code, z, rows):
    """The part of the activation the dense kernel cannot fuse: softmax over each row."""
    if code == SOFTMAX:
        softmax_rows[grid(rows)](z, rows)


def epilogue_code(code):
    """The activation the dense kernel applies itself (all but softmax, which needs a row)."""
    return LINEAR if code == SOFTMAX else code


def backward(code, y, dy, rows, alpha):
    """In place on the first ``rows`` rows: dy <- dL/dz given dy = dL/dy and y = f(z)."""
    if code == LINEAR:
        return
    if code == SOFTMAX:
        softmax_backward_rows[grid(rows)](y, dy, rows)
    else:
        elementwise_backward[grid(rows * y.shape[1])](code, y, dy, rows, np.float64(alpha))
