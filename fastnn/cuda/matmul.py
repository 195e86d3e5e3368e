"""The dense layer's matrix products on the GPU: a tiled shared-memory kernel with a fused
epilogue, and the bias gradient.

    out = f(A B + bias)      A (m, k), B (k, n); A may be a^T and B may be b^T (flags)

Each block computes a TILE x TILE tile of ``out`` (TILE: fastnn/cuda/_launch.py): it walks k in
steps of TILE, staging a tile of A and one of B in shared memory (a transposed operand is read
along its rows and stored transposed, so global reads stay coalesced), and each thread sums its
element in the operands' dtype, p in increasing order as the CPU's small-product loop does.
Sizes need not be multiples of TILE: threads outside (m, n) load zeros and write nothing. The
epilogue adds the bias and applies an element-wise activation (its formula from
fastnn/kernels/activations.py), so the forward pass of a dense layer is one kernel; the backward
pass uses the same kernel without epilogue for dW = x^T dz and dx = dz W^T, and ``column_sums``
for db.

The kernel is made once per dtype (the shared tiles need a compile-time type) and epilogue
activation, on first use.
"""

import functools

import numba
import numpy as np
from numba import cuda

from ..kernels.activations import ACTIVATIONS, LINEAR
from ._launch import TILE, device, grid

TILE_PAD = TILE + 1  # shared tiles get one spare column (see the kernel)


@functools.cache
def _tiled_kernel(dtype, act=LINEAR):
    tile_type = numba.from_dtype(np.dtype(dtype))
    activation = device(ACTIVATIONS[act].forward)

    @cuda.jit
    def tiled_matmul(a, b, out, m, n, k, trans_a, trans_b, bias, has_bias, alpha):
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
            out[r, c] = activation(v, alpha)

    return tiled_matmul


def matmul(a, b, out, m, n, k, trans_a=False, trans_b=False, bias=None, act=LINEAR, alpha=0.0):
    """out[:m, :n] = f(A B + bias) with A = a (or a^T) of shape (m, k), B = b (or b^T) (k, n).

    ``act`` must be an element-wise activation that keeps no input (activations.fused_in_matmul);
    the others are applied by the caller."""
    kernel = _tiled_kernel(np.dtype(out.dtype).name, act)
    blocks = (max(1, -(-n // TILE)), max(1, -(-m // TILE)))
    has_bias = bias is not None
    kernel[blocks, (TILE, TILE)](a, b, out, m, n, k, trans_a, trans_b,
                                 bias if has_bias else out[0], has_bias, np.float64(alpha))


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
