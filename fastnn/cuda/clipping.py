"""Gradient clipping on the GPU (fastnn/kernels/clipping.py): over the flat gradient buffer, in
place, before the optimizer step.

    clip_value c > 0    g_i <- min(max(g_i, -c), c)                  (each component)
    clip_norm  c > 0    g <- g * c / ||g||_2   when ||g||_2 > c      (the global L2 norm)

Values first, then the norm, as on the CPU. The norm is a deterministic two-pass reduction in
float64 (fastnn/cuda/reductions.py); a one-block kernel turns it into the scale factor, stored in
the gradients' dtype as the CPU casts it, and a last pass multiplies. Nothing leaves the device.
"""

import math

import numpy as np
from numba import cuda

from ..kernels.clipping import clip_value
from ._launch import device, grid
from .reductions import MAX_BLOCKS, launch_sum_of_squares

clip_component = device(clip_value)


@cuda.jit
def clip_by_value_kernel(grads, limit):
    i = cuda.grid(1)
    if i < grads.shape[0]:
        grads[i] = clip_component(grads[i], limit)


@cuda.jit
def norm_scale(total, clip_norm, scale):
    """One thread: scale[0] = c / ||g|| when ||g|| > c, else 1 (in the gradients' dtype)."""
    norm = math.sqrt(total[0])
    scale[0] = clip_norm / norm if norm > clip_norm else 1.0


@cuda.jit
def scale_kernel(grads, scale):
    i = cuda.grid(1)
    if i < grads.shape[0]:
        grads[i] *= scale[0]


class Clipper:
    """Clips a gradient buffer of ``n`` values of ``dtype`` on the device, with its own
    workspace (the reduction's partial sums and the scale)."""

    def __init__(self, n, dtype, clip_norm, clip_value):
        self.n, self.clip_norm = n, np.float64(clip_norm)
        self.clip_value = dtype.type(clip_value)
        if clip_norm > 0.0:
            self.partials = cuda.device_array(MAX_BLOCKS, dtype=float)
            self.total = cuda.device_array(1, dtype=float)
            self.scale = cuda.device_array(1, dtype=dtype)

    def __call__(self, grads):
        if self.clip_value > 0.0:
            clip_by_value_kernel[grid(self.n)](grads, self.clip_value)
        if self.clip_norm > 0.0:
            launch_sum_of_squares(grads, self.partials, self.total)
            norm_scale[1, 1](self.total, self.clip_norm, self.scale)
            scale_kernel[grid(self.n)](grads, self.scale)
