"""The dense layer's matrix products on the GPU: a tiled shared-memory kernel with a fused
epilogue, and the bias gradient.

    out = f(A B + bias)      A (m, k), B (k, n); A may be a^T and B may be b^T (flags)

Each block computes a TILE x TILE tile of ``out``: it walks k in steps of TILE, staging a tile of
A and one of B in shared memory (a transposed operand is read along its rows and stored
transposed, so global reads stay coalesced), and each thread sums its element in the operands'
dtype, p in increasing order as the CPU's small-product loop does. Sizes need not be multiples of
TILE: threads outside (m, n) load zeros and write nothing. The epilogue adds the bias and applies
an elementwise activation (fastnn/cuda/activations.py), so the forward pass of a dense layer is
one kernel; the backward pass uses the same kernel without epilogue for dW = x^T dz and
dx = dz W^T, and ``column_sums`` for db.

The kernel is compiled once per dtype (the shared tiles need a compile-time type).
"""

import functools

import numba
import numpy as np
from numba import cuda

from ..kernels.activations import LINEAR
from ._launch import grid
from .activations import activation_value

TILE = 16
TILE_PAD = TILE + 1  # shared tiles get one spare column (see the kernel)


@functools.cache
def _tiled_kernel(dtype):
    tile_type = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def tiled_matmul(a, b, out, m, n, k, trans_a, trans_b, bias, has_bias, act, alpha):
        # Tiles padded by one column so that the transposed stores hit distinct banks.
        sa = cuda.shared.array((TILE, TILE_PAD), tile_type)
        sb = cuda.shared.array((TILE, TILE_PAD), tile_type)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        row0 = cuda.blockIdx.y * TILE
        col0 = cuda.blockIdx.x * TILE
        zero = tile_type(0)
        acc = zero
        for p0 in range(0, k, TILE):
            # sa[r, q] = A[row0 + r, p0 + q] and sb[q, c] = B[p0 + q, col0 + c]
            if trans_a:
                p = p0 + ty
                r = row0 + tx
                sa[tx, ty] = a[p, r] if p < k and r < m else zero
            else:
                r = row0 + ty
                p = p0 + tx
                sa[ty, tx] = a[r, p] if r < m and p < k else zero
            if trans_b:
                c = col0 + ty
                p = p0 + tx
                sb[tx, ty] = b[c, p] if c < n and p < k else zero
            else:
                p = p0 + ty
                c = col0 + tx
                sb[ty, tx] = b[p, c] if p < k and c < n else zero
            cuda.syncthreads()
            for q in range(TILE):
                acc += sa[ty, q] * sb[q, tx]
            cuda.syncthreads()
        r = row0 + ty
        c = col0 + tx
        if r < m and c < n:
            v = acc + bias[c] if has_bias else acc
            out[r, c] = activation_value(act, v, alpha)

    return tiled_matmul


def matmul(a, b, out, m, n, k, trans_a=False, trans_b=False, bias=None, act=LINEAR, alpha=0.0):
    """out[:m, :n] = f(A B + bias) with A = a (or a^T) of shape (m, k), B = b (or b^T) (k, n).

    ``act`` must be an elementwise activation code (softmax is finished by the caller)."""
    kernel = _tiled_kernel(out.dtype)
    blocks = (max(1, -(-n // TILE)), max(1, -(-m // TILE)))
    has_bias = bias is not None
    kernel[blocks, (TILE, TILE)](a, b, out, m, n, k, trans_a, trans_b,
                                 bias if has_bias else out[0], has_bias, act, np.float64(alpha))


@cuda.jit
def column_sums_kernel(x, rows, out):
    """out[j] = sum_{i < rows} x[i, j], one thread per column, rows in order."""
    j = cuda.grid(1)
    if j >= x.shape[1]:
        return
    total = 0.0
    for i in range(rows):
        total += x[i, j]
    out[j] = total


def column_sums(x, rows, out):
    column_sums_kernel[grid(x.shape[1])](x, rows, out)
