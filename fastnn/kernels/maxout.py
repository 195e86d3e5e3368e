"""Maxout: each unit is the largest of ``pieces`` affine maps of the input.

With W of shape (n_in, units * pieces) (column u * pieces + k is piece k of unit u) and b of
length units * pieces:

    forward   z = x W + b,   y_iu = max_k z_i,(u pieces + k)
    backward  dz_i,(u pieces + k) = dy_iu if k is the arg-max (the first one on a tie) else 0,
              then the Dense backward: dW = x^T dz, db = sum_rows dz, dx = dz W^T

The pre-activations z are kept in the op's scratch of the activation workspace for the backward
pass, and dz is formed in the same place of the gradient workspace. ``unit_max`` and
``route_to_max`` (one row and one unit) are the formulas both backends use.
"""

from ._jit import kernel
from .dense import dense_backward, matmul_into
from .table import formula


@formula
def unit_max(z, bias, i, u, pieces):
    """Add the bias to unit u's pieces in row i of z (in place) and return their maximum."""
    base = u * pieces
    best = z[i, base] + bias[base]
    z[i, base] = best
    for k in range(1, pieces):
        v = z[i, base + k] + bias[base + k]
        z[i, base + k] = v
        if v > best:
            best = v
    return best


@formula
def route_to_max(z, dy, i, u, pieces, dz):
    """dz of unit u's pieces in row i: dy at the first arg-max piece of z, 0 at the others."""
    base = u * pieces
    arg = 0
    for k in range(1, pieces):
        if z[i, base + k] > z[i, base + arg]:
            arg = k
    for k in range(pieces):
        dz[i, base + k] = dy[i, u] if k == arg else 0.0


@kernel
def maxout_forward(x, params, kernel_offset, n_in, units, pieces, z, y):
    width = units * pieces
    weights = params[kernel_offset:kernel_offset + n_in * width].reshape((n_in, width))
    bias = params[kernel_offset + n_in * width:kernel_offset + n_in * width + width]
    matmul_into(x, weights, z)
    rows = x.shape[0]
    for i in range(rows):
        for u in range(units):
            y[i, u] = unit_max(z, bias, i, u, pieces)


@kernel
def maxout_backward(x, dy, z, dz, params, grads, kernel_offset, n_in, units, pieces, dx,
                    need_dx):
    """Gradients of W and b into ``grads``; dx when ``need_dx``. ``z`` is the forward's."""
    rows = x.shape[0]
    for i in range(rows):
        for u in range(units):
            route_to_max(z, dy, i, u, pieces, dz)
    dense_backward(x, dz, params, grads, kernel_offset, n_in, units * pieces, dx, need_dx)
