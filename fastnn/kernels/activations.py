"""Activations: each one's formulas, written once, and the table both backends run them from.

An element-wise activation is two plain functions: ``forward(z, a)`` = f(z) and
``gradient(dy, y, z, a)`` = dL/dz from dL/dy, the output y = f(z) and, for the activations that
need it (``needs_input``), the pre-activation z, which the layer then keeps in its scratch; ``a``
is the activation's parameter (leaky_relu's slope, elu's alpha). Softmax works on whole rows.

    linear      f = z                                   f' = 1
    sigmoid     f = 1 / (1 + e^-z)                      f' = y (1 - y)
    tanh        f = tanh z                              f' = 1 - y^2
    relu        f = max(z, 0)                           f' = [y > 0]
    leaky_relu  f = z if z > 0 else a z       (a >= 0)  f' = 1 if y > 0 else a
    elu         f = z if z > 0 else a (e^z - 1) (a > 0) f' = 1 if y > 0 else y + a
    selu        f = s (z if z > 0 else A (e^z - 1))     f' = s if y > 0 else y + s A
    softplus    f = log(1 + e^z)                        f' = 1 - e^-y
    softmax     f_j = e^(z_j - max z) / sum_k e^(z_k - max z)
                                           (dz)_j = y_j (dy_j - sum_k dy_k y_k)
    step        f = [z >= 0]                            forward only (the perceptron)
    gelu        f = z Phi(z) = z (1 + erf(z / sqrt 2)) / 2
                                                        f' = Phi(z) + z phi(z)       (from z)
    gelu_tanh   f = z (1 + tanh u) / 2,  u = sqrt(2/pi) (z + 0.044715 z^3)
                     f' = (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 0.044715 z^2) / 2, t = tanh u
    silu        f = z sigma(z)                          f' = sigma(z) (1 + z (1 - sigma(z)))

A table entry's position is its code, the plan's activation column. ``activate`` and
``activation_backward`` are the CPU kernels; fastnn/cuda builds its kernels from the same table.

In float32, tanh is the rational approximation XLA and Eigen use (``tanh_of``), which the
compiler vectorises; float64 keeps the exact ``math.tanh``.
"""

import math
from typing import Callable, NamedTuple

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import kernel
from .table import formula, switch

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SQRT_HALF = 0.70710678118654752440  # 1 / sqrt(2)
INV_SQRT_2PI = 0.39894228040143267794  # 1 / sqrt(2 pi)
SQRT_2_OVER_PI = 0.79788456080286535588  # sqrt(2 / pi)
GELU_CUBIC = 0.044715

# tanh(x) ~ x P(x^2) / Q(x^2) on [-TANH_CLAMP, TANH_CLAMP] (Eigen's generic_fast_tanh_float).
TANH_CLAMP = 7.90531110763549805
TANH_P = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
          5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
          -2.76076847742355e-16)
TANH_Q = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
          1.19825839466702e-06)


def tanh_of(x):
    """tanh(x): the float32 approximation above for float32 x, math.tanh otherwise."""
    return math.tanh(x)


def _tanh_float32(x):
    f32 = np.float32
    if x < f32(-TANH_CLAMP):  # comparisons, not min/max, which every target compiles
        x = f32(-TANH_CLAMP)
    elif x > f32(TANH_CLAMP):
        x = f32(TANH_CLAMP)
    x2 = x * x
    p = x2 * f32(TANH_P[6]) + f32(TANH_P[5])
    p = p * x2 + f32(TANH_P[4])
    p = p * x2 + f32(TANH_P[3])
    p = p * x2 + f32(TANH_P[2])
    p = p * x2 + f32(TANH_P[1])
    p = p * x2 + f32(TANH_P[0])
    q = x2 * f32(TANH_Q[3]) + f32(TANH_Q[2])
    q = q * x2 + f32(TANH_Q[1])
    q = q * x2 + f32(TANH_Q[0])
    return x * p / q


@overload(tanh_of, inline="always")
def _tanh_of(x):
    if x == types.float32:
        return _tanh_float32
    return lambda x: math.tanh(x)


# ----------------------------------------------------------------------- the formulas
@formula
def linear(z, a):
    return z


@formula
def sigmoid(z, a):
    return 1.0 / (1.0 + math.exp(-z))


@formula
def sigmoid_gradient(dy, y, z, a):
    return dy * y * (1.0 - y)


@formula
def tanh(z, a):
    return tanh_of(z)


@formula
def tanh_gradient(dy, y, z, a):
    return dy * (1.0 - y * y)


@formula
def relu(z, a):
    return z if z > 0.0 else 0.0


@formula
def relu_gradient(dy, y, z, a):
    return dy if y > 0.0 else 0.0


@formula
def leaky_relu(z, a):
    return z if z > 0.0 else a * z


@formula
def leaky_relu_gradient(dy, y, z, a):
    return dy if y > 0.0 else a * dy


@formula
def elu(z, a):
    return z if z > 0.0 else a * math.expm1(z)


@formula
def elu_gradient(dy, y, z, a):
    return dy if y > 0.0 else dy * (y + a)


@formula
def selu(z, a):
    return SELU_SCALE * (z if z > 0.0 else SELU_ALPHA * math.expm1(z))


@formula
def selu_gradient(dy, y, z, a):
    return dy * SELU_SCALE if y > 0.0 else dy * (y + SELU_SCALE * SELU_ALPHA)


@formula
def softplus(z, a):
    return math.log1p(math.exp(-abs(z))) + (z if z > 0.0 else 0.0)


@formula
def softplus_gradient(dy, y, z, a):
    return dy * -math.expm1(-y)


@formula
def step(z, a):
    return 1.0 if z >= 0.0 else 0.0


@formula
def step_gradient(dy, y, z, a):
    return 0.0


@formula
def gelu(z, a):
    return 0.5 * z * (1.0 + math.erf(z * SQRT_HALF))


@formula
def gelu_gradient(dy, y, z, a):
    return dy * (0.5 * (1.0 + math.erf(z * SQRT_HALF)) + z * INV_SQRT_2PI * math.exp(-0.5 * z * z))


@formula
def gelu_tanh(z, a):
    return 0.5 * z * (1.0 + tanh_of(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z)))


@formula
def gelu_tanh_gradient(dy, y, z, a):
    t = tanh_of(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z))
    slope = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * z * z)
    return dy * (0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * slope)


@formula
def silu(z, a):
    return z / (1.0 + math.exp(-z))


@formula
def silu_gradient(dy, y, z, a):
    s = 1.0 / (1.0 + math.exp(-z))
    return dy * s * (1.0 + z * (1.0 - s))


@formula
def softmax_row(z, bias, i):
    """Row i in place: z_i <- softmax(z_i + bias)."""
    cols = z.shape[1]
    top = z[i, 0] + bias[0]
    for j in range(cols):
        z[i, j] = z[i, j] + bias[j]
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


@formula
def softmax_gradient_row(y, dy, i):
    """Row i in place: dy_i <- y_i (dy_i - dy_i . y_i)."""
    cols = y.shape[1]
    dot = 0.0
    for j in range(cols):
        dot += dy[i, j] * y[i, j]
    for j in range(cols):
        dy[i, j] = y[i, j] * (dy[i, j] - dot)


# ----------------------------------------------------------------------- the table
class Activation(NamedTuple):
    """One activation. Element-wise: ``forward(z, a)``, ``gradient(dy, y, z, a)`` (None: the
    identity, nothing to do). Row-wise (``rowwise``): ``forward(z, bias, i)`` and
    ``gradient(y, dy, i)`` on row i in place."""

    name: str
    forward: Callable
    gradient: Callable | None
    parameter: float = 0.0      # the default of ``a``
    needs_input: bool = False   # the gradient reads z, which the layer must keep
    rowwise: bool = False


ACTIVATIONS = (
    Activation("linear", linear, None),
    Activation("sigmoid", sigmoid, sigmoid_gradient),
    Activation("tanh", tanh, tanh_gradient),
    Activation("relu", relu, relu_gradient),
    Activation("leaky_relu", leaky_relu, leaky_relu_gradient, 0.01),
    Activation("elu", elu, elu_gradient, 1.0),
    Activation("selu", selu, selu_gradient),
    Activation("softplus", softplus, softplus_gradient),
    Activation("softmax", softmax_row, softmax_gradient_row, rowwise=True),
    Activation("step", step, step_gradient),
    Activation("gelu", gelu, gelu_gradient, needs_input=True),
    Activation("gelu_tanh", gelu_tanh, gelu_tanh_gradient, needs_input=True),
    Activation("silu", silu, silu_gradient, needs_input=True),
)
CODES = {entry.name: code for code, entry in enumerate(ACTIVATIONS)}
LINEAR, SIGMOID, SOFTMAX = CODES["linear"], CODES["sigmoid"], CODES["softmax"]


# ----------------------------------------------------------------------- the CPU kernels
def _forward_loop(entry):
    """The CPU loop of one activation: z <- f(z + bias), keeping z + bias in ``pre`` when the
    gradient needs it."""
    f = entry.forward
    if entry.rowwise:
        def rows_loop(z, bias, alpha, pre):
            for i in range(z.shape[0]):
                f(z, bias, i)
        return rows_loop
    if entry.needs_input:
        def keeping_loop(z, bias, alpha, pre):
            rows, cols = z.shape
            for i in range(rows):
                for j in range(cols):
                    v = z[i, j] + bias[j]
                    pre[i, j] = v
                    z[i, j] = f(v, alpha)
        return keeping_loop

    def loop(z, bias, alpha, pre):
        rows, cols = z.shape
        for i in range(rows):
            for j in range(cols):
                z[i, j] = f(z[i, j] + bias[j], alpha)
    return loop


def _backward_loop(entry):
    g = entry.gradient
    if entry.rowwise:
        def rows_loop(y, z, dy, alpha):
            for i in range(y.shape[0]):
                g(y, dy, i)
        return rows_loop

    def loop(y, z, dy, alpha):
        rows, cols = y.shape
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = g(dy[i, j], y[i, j], z[i, j], alpha)
    return loop


_forward_cases = switch([(code, _forward_loop(e)) for code, e in enumerate(ACTIVATIONS)],
                        "activation")
_backward_cases = switch([(code, _backward_loop(e)) for code, e in enumerate(ACTIVATIONS)
                          if e.gradient is not None], "activation")


@kernel
def activate(code, z, bias, alpha, pre, kinds=None):
    """In place: z[i, j] <- f(z[i, j] + bias[j]) for the activation ``code``; when it
    ``needs_input``, pre[i, j] <- z[i, j] + bias[j] (``pre`` is otherwise not touched).
    ``kinds``: the table entries compiled (fastnn/kernels/kinds.py)."""
    _forward_cases(kinds, code, z, bias, alpha, pre)


@kernel
def activation_backward(code, y, z, dy, alpha, kinds=None):
    """In place: dy <- dL/dz given dy = dL/dy, the output y = f(z) and (read only by the
    activations that need it) the pre-activation z."""
    _backward_cases(kinds, code, y, z, dy, alpha)
