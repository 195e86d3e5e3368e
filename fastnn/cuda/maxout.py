"""Maxout on the GPU, with the formulas of fastnn/kernels/maxout.py: each unit the largest of
``pieces`` affine maps.

    forward   z = x W (the tiled product), then per (row, unit): z += b, y = max_k z_(u pieces + k)
    backward  dz = dy at the first arg-max piece, 0 elsewhere; then the dense backward on dz

The pre-activations z stay in the op's scratch of the activation workspace; dz is formed in the
same place of the gradient workspace.
"""

from numba import cuda

from ..kernels import maxout as formulas
from ._launch import device, element_of_thread, elements

unit_max = device(formulas.unit_max)
route_to_max = device(formulas.route_to_max)


@cuda.jit
def bias_and_max_kernel(z, rows, bias, pieces, y):
    """One thread per (row, unit): add the bias to the unit's pieces (kept in z), y = their max."""
    i, u = element_of_thread(rows, y.shape[1])
    if i < 0:
        return
    y[i, u] = unit_max(z, bias, i, u, pieces)


@cuda.jit
def route_gradient_kernel(z, dy, rows, pieces, dz):
    """One thread per (row, unit): dz = dy at the first arg-max piece of z, 0 at the others."""
    i, u = element_of_thread(rows, dy.shape[1])
    if i < 0:
        return
    route_to_max(z, dy, i, u, pieces, dz)


def bias_and_max(z, rows, bias, pieces, y):
    bias_and_max_kernel[elements(rows, y.shape[1])](z, rows, bias, pieces, y)


def route_gradient(z, dy, rows, pieces, dz):
    route_gradient_kernel[elements(rows, dy.shape[1])](z, dy, rows, pieces, dz)
