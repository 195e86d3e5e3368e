"""Gradient clipping over the whole flat gradient buffer, in place, before the optimizer step.

    clip_value c > 0    g_i <- min(max(g_i, -c), c)                  (each component)
    clip_norm  c > 0    g <- g * c / ||g||_2   when ||g||_2 > c      (the global L2 norm)

Both may be set: values are clipped first, then the norm (scaling down keeps every component
within [-c_value, c_value]). A value of 0 switches that clipping off.
"""

import math

from ._jit import kernel


@kernel
def global_norm(grads):
    """||grads||_2, accumulated in float64 whatever the buffer's dtype."""
    total = 0.0
    for i in range(grads.shape[0]):
        g = float(grads[i])
        total += g * g
    return math.sqrt(total)


@kernel
def clip_by_value(grads, clip_value):
    c = grads.dtype.type(clip_value)
    for i in range(grads.shape[0]):
        grads[i] = min(max(grads[i], -c), c)


@kernel
def clip_by_global_norm(grads, clip_norm):
    norm = global_norm(grads)
    if norm > clip_norm:
        scale = grads.dtype.type(clip_norm / norm)
        for i in range(grads.shape[0]):
            grads[i] *= scale


@kernel
def clip_gradients(grads, clip_norm, clip_value):
    """Clip ``grads`` in place: by value when ``clip_value`` > 0, then by global norm when
    ``clip_norm`` > 0."""
    if clip_value > 0.0:
        clip_by_value(grads, clip_value)
    if clip_norm > 0.0:
        clip_by_global_norm(grads, clip_norm)
