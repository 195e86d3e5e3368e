"""Activation kernels: a fused bias-add-and-activate forward, and the derivative from the output.

Every derivative is written from the saved output y = f(z), so the pre-activation z never needs
to be stored (as scikit-learn's MLP does):

    linear      f = z                                  f' = 1
    sigmoid     f = 1 / (1 + e^-z)                     f' = y (1 - y)
    tanh        f = tanh z                             f' = 1 - y^2
    relu        f = max(z, 0)                          f' = [y > 0]
    leaky_relu  f = z if z > 0 else a z      (a >= 0)  f' = 1 if y > 0 else a
    elu         f = z if z > 0 else a (e^z - 1) (a > 0) f' = 1 if y > 0 else y + a
    selu        f = s (z if z > 0 else A (e^z - 1))    f' = s if y > 0 else y + s A
    softplus    f = log(1 + e^z)                       f' = 1 - e^-y
    softmax     f_j = e^(z_j - max z) / sum_k e^(z_k - max z)
                                          (dz)_j = y_j (dy_j - sum_k dy_k y_k)
    step        f = [z >= 0]                           forward only (the perceptron)

The codes are the plan's activation column; fastnn.activations maps names onto them.

In float32, tanh is the rational approximation XLA and Eigen use (odd degree-13 numerator over
even degree-6 denominator, input clamped to [-7.9053, 7.9053]; at most 3.5e-7 from the exact
value, relative error below 2.5e-7 near 0), which the compiler vectorises, where ``math.tanh``
is a scalar library call per element. float64 keeps the exact ``math.tanh``.
"""

import math

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import FASTMATH, kernel

LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SELU, SOFTPLUS, SOFTMAX, STEP = range(10)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

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
    x = min(max(x, f32(-TANH_CLAMP)), f32(TANH_CLAMP))
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


@overload(tanh_of, inline="always", jit_options={"fastmath": FASTMATH})
def _tanh_of(x):
    if x == types.float32:
        return _tanh_float32
    return lambda x: math.tanh(x)


@kernel
def activate(code, z, bias, alpha):
    """In place: z[i, j] <- f(z[i, j] + bias[j]) for the activation ``code``."""
    rows, cols = z.shape
    if code == LINEAR:
        for i in range(rows):
            for j in range(cols):
                z[i, j] = z[i, j] + bias[j]
    elif code == SIGMOID:
        for i in range(rows):
            for j in range(cols):
                z[i, j] = 1.0 / (1.0 + math.exp(-(z[i, j] + bias[j])))
    elif code == TANH:
        for i in range(rows):
            for j in range(cols):
                z[i, j] = tanh_of(z[i, j] + bias[j])
    elif code == RELU:
        for i in range(rows):
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v if v > 0.0 else 0.0
    elif code == LEAKY_RELU:
        for i in range(rows):
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v if v > 0.0 else alpha * v
    elif code == ELU:
        for i in range(rows):
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = v if v > 0.0 else alpha * math.expm1(v)
    elif code == SELU:
        for i in range(rows):
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = SELU_SCALE * (v if v > 0.0 else SELU_ALPHA * math.expm1(v))
    elif code == SOFTPLUS:
        for i in range(rows):
            for j in range(cols):
                v = z[i, j] + bias[j]
                z[i, j] = math.log1p(math.exp(-abs(v))) + max(v, 0.0)
    elif code == SOFTMAX:
        for i in range(rows):
            top = z[i, 0] + bias[0]
            for j in range(cols):
                z[i, j] = z[i, j] + bias[j]
                top = max(top, z[i, j])
            total = 0.0
            for j in range(cols):
                e = math.exp(z[i, j] - top)
                z[i, j] = e
                total += e
            inv = 1.0 / total
            for j in range(cols):
                z[i, j] = z[i, j] * inv
    elif code == STEP:
        for i in range(rows):
            for j in range(cols):
                z[i, j] = 1.0 if z[i, j] + bias[j] >= 0.0 else 0.0


@kernel
def activation_backward(code, y, dy, alpha):
    """In place: dy <- dL/dz given dy = dL/dy and the saved output y = f(z)."""
    rows, cols = y.shape
    if code == LINEAR:
        return
    elif code == SIGMOID:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] * y[i, j] * (1.0 - y[i, j])
    elif code == TANH:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] * (1.0 - y[i, j] * y[i, j])
    elif code == RELU:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] if y[i, j] > 0.0 else 0.0
    elif code == LEAKY_RELU:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] if y[i, j] > 0.0 else alpha * dy[i, j]
    elif code == ELU:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] if y[i, j] > 0.0 else dy[i, j] * (y[i, j] + alpha)
    elif code == SELU:
        for i in range(rows):
            for j in range(cols):
                if y[i, j] > 0.0:
                    dy[i, j] = dy[i, j] * SELU_SCALE
                else:
                    dy[i, j] = dy[i, j] * (y[i, j] + SELU_SCALE * SELU_ALPHA)
    elif code == SOFTPLUS:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = dy[i, j] * -math.expm1(-y[i, j])
    elif code == SOFTMAX:
        for i in range(rows):
            dot = 0.0
            for j in range(cols):
                dot += dy[i, j] * y[i, j]
            for j in range(cols):
                dy[i, j] = y[i, j] * (dy[i, j] - dot)
    elif code == STEP:
        for i in range(rows):
            for j in range(cols):
                dy[i, j] = 0.0
