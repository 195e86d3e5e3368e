"""Dense layer kernels: y = f(x W + b) forward, and the gradients of W, b and x backward.

Shapes: x (B, n_in), W (n_in, n_out), b (n_out), y and dz (B, n_out).

    forward   y = f(x W + b)          (the product into y, then one fused bias+activation pass)
    backward  dW = x^T dz,  db = sum_rows dz,  dx = dz W^T      (dz = dL/d(x W + b))

Products go to BLAS (``np.dot`` with an ``out`` argument, no temporaries) except when they are
tiny, where a BLAS call costs more than the arithmetic (online learning, batch 1).
"""

import numpy as np

from ._jit import kernel
from .activations import activate

# Below this many multiply-adds a product is done by the loops here rather than by BLAS.
SMALL_PRODUCT = 4096


@kernel
def matmul_into(a, b, out):
    """out = a @ b (a: (m, k), b: (k, n)); ``a`` or ``b`` may be transposed views."""
    m, k = a.shape
    n = b.shape[1]
    if m * k * n > SMALL_PRODUCT:
        np.dot(a, b, out)
        return
    for i in range(m):
        for j in range(n):
            out[i, j] = 0.0
        for p in range(k):
            a_ip = a[i, p]
            for j in range(n):
                out[i, j] += a_ip * b[p, j]


@kernel
def dense_forward(x, params, kernel_offset, n_in, n_out, act, alpha, y):
    """y = f(x W + b) with W and b read from the flat buffer at ``kernel_offset``."""
    weights = params[kernel_offset:kernel_offset + n_in * n_out].reshape((n_in, n_out))
    bias = params[kernel_offset + n_in * n_out:kernel_offset + n_in * n_out + n_out]
    matmul_into(x, weights, y)
    activate(act, y, bias, alpha)


@kernel
def dense_backward(x, dz, params, grads, kernel_offset, n_in, n_out, dx, need_dx):
    """Write dW and db into the flat gradient buffer; dx = dz W^T when ``need_dx``."""
    size = n_in * n_out
    weights = params[kernel_offset:kernel_offset + size].reshape((n_in, n_out))
    grad_w = grads[kernel_offset:kernel_offset + size].reshape((n_in, n_out))
    grad_b = grads[kernel_offset + size:kernel_offset + size + n_out]
    matmul_into(x.T, dz, grad_w)
    rows = dz.shape[0]
    for j in range(n_out):
        grad_b[j] = 0.0
    for i in range(rows):
        for j in range(n_out):
            grad_b[j] += dz[i, j]
    if need_dx:
        matmul_into(dz, weights.T, dx)
