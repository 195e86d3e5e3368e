"""The activations on the GPU: kernels made from the table of fastnn/kernels/activations.py.

For each activation code the kernels call that entry's own formulas (compiled for the GPU), so
the choice of activation is made once, on the host, when a kernel is picked; the kernels are
made on first use and kept. An element-wise activation runs one thread per element, a row-wise
one (softmax) one thread per row, with the CPU kernel's semantics:

    activate(code, z, bias, rows, alpha, pre)   in place: z <- f(z + bias) on the first ``rows``
                                                rows, z + bias kept in ``pre`` when the
                                                activation needs its input
    backward(code, y, z, dy, rows, alpha)       in place: dy <- dL/dz

The dense kernel (fastnn/cuda/matmul.py) applies an element-wise activation that needs no kept
input in its own epilogue; ``fused_in_matmul`` says which.
"""

import functools

import numpy as np
from numba import cuda

from ..kernels.activations import ACTIVATIONS
from ._launch import device, element_of_thread, elements, grid


def fused_in_matmul(code):
    """True when the dense kernel's epilogue can apply activation ``code`` itself."""
    entry = ACTIVATIONS[code]
    return not entry.rowwise and not entry.needs_input


@functools.cache
def forward_kernel(code):
    entry = ACTIVATIONS[code]
    f = device(entry.forward)
    if entry.rowwise:
        @cuda.jit
        def rows_kernel(z, bias, rows, alpha, pre):
            i = cuda.grid(1)
            if i < rows:
                f(z, bias, i)
        return rows_kernel
    keep = entry.needs_input

    @cuda.jit
    def elements_kernel(z, bias, rows, alpha, pre):
        i, j = element_of_thread(rows, z.shape[1])
        if i < 0:
            return
        v = z[i, j] + bias[j]
        if keep:
            pre[i, j] = v
        z[i, j] = f(v, alpha)
    return elements_kernel


@functools.cache
def backward_kernel(code):
    entry = ACTIVATIONS[code]
    g = device(entry.gradient)
    if entry.rowwise:
        @cuda.jit
        def rows_kernel(y, z, dy, rows, alpha):
            i = cuda.grid(1)
            if i < rows:
                g(y, dy, i)
        return rows_kernel

    @cuda.jit
    def elements_kernel(y, z, dy, rows, alpha):
        i, j = element_of_thread(rows, y.shape[1])
        if i < 0:
            return
        dy[i, j] = g(dy[i, j], y[i, j], z[i, j], alpha)
    return elements_kernel


def _threads(code, rows, cols):
    return grid(rows) if ACTIVATIONS[code].rowwise else elements(rows, cols)


def activate(code, z, bias, rows, alpha, pre):
    forward_kernel(code)[_threads(code, rows, z.shape[1])](z, bias, rows, np.float64(alpha), pre)


def backward(code, y, z, dy, rows, alpha):
    if ACTIVATIONS[code].gradient is None:
        return
    backward_kernel(code)[_threads(code, rows, y.shape[1])](y, z, dy, rows, np.float64(alpha))


@cuda.jit
def copy_kernel(src, dst, rows):
    i, j = element_of_thread(rows, src.shape[1])
    if i >= 0:
        dst[i, j] = src[i, j]


def copy_rows(src, dst, rows):
    """dst[:rows] = src[:rows]."""
    copy_kernel[elements(rows, src.shape[1])](src, dst, rows)

