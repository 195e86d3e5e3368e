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
from .activations import LINEAR
from .dense import dense_backward, dense_forward


@kernel
def maxout_forward(x, params, kernel_offset, n_in, units, pieces, z, y):
    dense_forward(x, params, kernel_offset, n_in, units * pieces, LINEAR, 0.0, z)
    rows = x.shape[0]
    for i in range(rows):
        for u in range(units):
            base = u * pieces
            best = z[i, base]
            for k in range(1, pieces):
                if z[i, base + k] > best:
                    best = z[i, base + k]
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
