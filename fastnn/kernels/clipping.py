"""Gradient clipping over the whole flat gradient buffer, in place, before the optimizer step.

    clip_value c > 0    g_i <- min(max(g_i, -c), c)                  (each component)
    clip_norm  c > 0    g <- g * c / ||g||_2   when ||g||_2 > c      (the global L2 norm)

Both may be set: values are clipped first, then the norm (scaling down keeps every component
within [-c_value, c_value]). A value of 0 switches that clipping off. ``clip_value`` is the
per-component formula both backends use.
"""

import math

from ._jit import kernel
from .table import formula, switch

# The "clipping" family of fastnn/kernels/kinds.py: gradients clipped by value, norm or both.
CLIPPING = 1


@formula
def clip_value(g, c):
    """min(max(g, -c), c), written with comparisons (which every target compiles)."""
    if g < -c:
        return -c
    if g > c:
        return c
    return g



@kernel
def global_norm(grads):
    """||grads||_2, accumulated in float64 whatever the buffer's dtype."""
    total = 0.0
    for i in range(grads.shape[0]):
        g = float(grads[i])
        total += g * g
    return math.sqrt(total)


@formula
def clip_by_value(grads, limit):
    c = grads.dtype.type(limit)
    for i in range(grads.shape[0]):
        grads[i] = clip_value(grads[i], c)


@formula
def clip_by_global_norm(grads, clip_norm):
    norm = global_norm(grads)
    if norm > clip_norm:
        scale = grads.dtype.type(clip_norm / norm)
        for i in range(grads.shape[0]):
            grads[i] *= scale


@formula
def clip_gradients(grads, clip_norm, clip_limit):
    """Clip ``grads`` in place: by value when ``clip_limit`` > 0, then by global norm when
    ``clip_norm`` > 0."""
    if clip_limit > 0.0:
        clip_by_value(grads, clip_limit)
    if clip_norm > 0.0:
        clip_by_global_norm(grads, clip_norm)


def _clip(grads, clip_norm, clip_limit):
    clip_gradients(grads, clip_norm, clip_limit)


_clipping_cases = switch([(CLIPPING, _clip)], "clipping")


@formula
def step_clipping(grads, clip_norm, clip_limit, kinds):
    """``clip_gradients`` in a training step, compiled only when ``kinds`` has clipping."""
    clipping = CLIPPING if clip_norm > 0.0 or clip_limit > 0.0 else 0
    _clipping_cases(kinds, clipping, grads, clip_norm, clip_limit)
