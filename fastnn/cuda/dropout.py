"""Inverted dropout on the GPU, with the CPU's counter-hash mask (fastnn/kernels/random.py).

    dst_ij = src_ij / (1 - rate)  if (bits(key, i * width + j) >> 11) >= threshold  else 0

One thread per element of the first ``rows`` rows; the forward pass (src = x) and the backward
pass (src = dL/dy) call it with the same key, so they apply the same mask, which is never stored.
"""

import numpy as np
from numba import cuda

from ..kernels import random as cpu_random
from ._launch import device, element_of_thread, elements

keeps = device(cpu_random.keeps)


@cuda.jit
def dropout_kernel(src, dst, rows, key, threshold, scale):
    cols = src.shape[1]
    i, j = element_of_thread(rows, cols)
    if i < 0:
        return
    if keeps(key, i * cols + j, threshold):
        dst[i, j] = src[i, j] * scale
    else:
        dst[i, j] = 0.0


def dropout_apply(src, dst, rows, rate, key):
    """dst = src * m / (1 - rate) on the first ``rows`` rows, m the mask of stream ``key``."""
    dropout_kernel[elements(rows, src.shape[1])](src, dst, rows, key,
                                              cpu_random.keep_threshold(rate),
                                              np.float64(1.0 / (1.0 - rate)))
