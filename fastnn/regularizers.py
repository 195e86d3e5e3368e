"""Kernel regularizers, with Keras's meaning: a penalty on a layer's kernel added to the loss.

    l1(a)        R(W) = a sum |w|
    l2(a)        R(W) = a sum w^2
    l1_l2(a, b)  R(W) = a sum |w| + b sum w^2

Given as ``Dense(..., kernel_regularizer=fn.l2(1e-4))`` (Maxout takes one too). The penalty's
gradient, a sign(w) + 2 b w (sign(0) = 0), is added to the kernel's gradient in the compiled
loop (fastnn/kernels/regularization.py); biases are not penalised. The loss that fit reports,
that evaluate returns and that compute_gradients differentiates includes the penalty.
"""

import numpy as np

from .checks import number


class Regularizer:
    """R(W) = l1 sum |w| + l2 sum w^2, both coefficients >= 0 (Keras's L1L2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = number("regularization coefficient l1", l1, low=0.0)
        self.l2 = number("regularization coefficient l2", l2, low=0.0)

    def __call__(self, weights):
        """The penalty of ``weights`` (any array), in float64."""
        w = np.asarray(weights, dtype=np.float64)
        return self.l1 * float(np.abs(w).sum()) + self.l2 * float((w * w).sum())

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"Regularizer(l1={self.l1!r}, l2={self.l2!r})"


def l1(l1=0.01):
    """R(W) = l1 sum |w| (Keras's default coefficient 0.01)."""
    return Regularizer(l1=l1)


def l2(l2=0.01):
    """R(W) = l2 sum w^2 (Keras's default coefficient 0.01)."""
    return Regularizer(l2=l2)


def l1_l2(l1=0.01, l2=0.01):
    """R(W) = l1 sum |w| + l2 sum w^2 (Keras's defaults 0.01 and 0.01)."""
    return Regularizer(l1=l1, l2=l2)


BY_NAME = {"l1": l1, "l2": l2, "l1_l2": l1_l2}


def get(spec):
    """A Regularizer (or None) from None, a Regularizer, a name ("l1", "l2", "l1_l2", with
    Keras's default coefficients) or a ``get_config()`` dict; ValueError otherwise."""
    if spec is None or isinstance(spec, Regularizer):
        return spec
    if isinstance(spec, dict):
        unknown = set(spec) - {"l1", "l2"}
        if unknown:
            raise ValueError(f"unknown regularizer settings {sorted(unknown)}; "
                             "a regularizer takes l1 and l2")
        return Regularizer(**spec)
    if isinstance(spec, str) and spec.lower() in BY_NAME:
        return BY_NAME[spec.lower()]()
    raise ValueError(f"unknown regularizer {spec!r}; give fastnn.l1(a), fastnn.l2(a), "
                     f"fastnn.l1_l2(a, b), one of {', '.join(BY_NAME)}, or None")
