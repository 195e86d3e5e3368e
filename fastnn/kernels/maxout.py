"""Maxout: each unit is the largest of ``pieces`` affine maps of the input.

With W of shape (n_in, units * pieces) (column u * pieces + k is piece k of unit u) and b of
length units * pieces:

    forward   z = x W + b,   y_iu = max_k z_i,(u pieces + k)
    backward  dz_i,(u pieces + k) = dy_iu if k is the arg-max (the first one on a tie) else 0,
              then the Dense backward: dW = x^T dz, db = sum_rows dz, dx = dz W^T

The pre-activations z are kept in the op's scratch of the activation workspace for the backward
pass, and dz is formed in the same place of the gradient workspace.
"""

from ._jit import kernel
from .dense import dense_backward, matmul_into


@kernel
def maxout_forward(x, params, kernel_offset, n_in, units, pieces, z, y):
    width = units * pieces
    weights = params[kernel_offset:kernel_offset + n_in * width].reshape((n_in, width))
    bias = params[kernel_offset + n_in * width:kernel_offset + n_in * width + width]
    matmul_into(x, weights, z)
    rows = x.shape[0]
    for i in range(rows):
        for u in range(units):
            base = u * pieces
            best = z[i, base] + bias[base]
            z[i, base] = best
            for k in range(1, pieces):
                v = z[i, base + k] + bias[base + k]
                z[i, base + k] = v
                if v > best:
                    best = v
            y[i, u] = best


@kernel
def maxout_backward(x, dy, z, dz, params, grads, kernel_offset, n_in, units, pieces, dx,
                    need_dx):
    """Gradients of W and b into ``grads``; dx when ``need_dx``. ``z`` is the forward's."""
    rows = x.shape[0]
    for i in range(rows):
        for u in range(units):
            base = u * pieces
            arg = 0
            for k in range(1, pieces):
                if z[i, base + k] > z[i, base + arg]:
                    arg = k
            for k in range(pieces):
                dz[i, base + k] = dy[i, u] if k == arg else 0.0
    dense_backward(x, dz, params, grads, kernel_offset, n_in, units * pieces, dx, need_dx)
