"""Dense layer kernels: y = f(x W + b) forward, and the gradients of W, b and x backward.

Shapes: x (B, n_in), W (n_in, n_out), b (n_out), y and dz (B, n_out).

    forward   y = f(x W + b)          (the product into y, then one fused bias+activation pass)
    backward  dW = x^T dz,  db = sum_rows dz,  dx = dz W^T      (dz = dL/d(x W + b))

Each of the three product shapes has its own kernel, so that every loop runs along contiguous
memory: ``matmul_into`` (a b), ``matmul_tn_into`` (a^T b) and ``matmul_nt_into`` (a b^T).
A product goes to BLAS (``gemm_into``, which writes into ``out``: no temporaries and no
reference counting, see blas.py) when it has more than ``SMALL_PRODUCT`` multiply-adds, its
batch has at least ``BLAS_MIN_ROWS`` rows (``BLAS_MIN_ROWS_TN`` for a^T b, whose rows are the
summed dimension), and it does not come from a one-column layer (a binary output); otherwise
the loops here do it. docs/engine.md gives the measurements behind these thresholds.
"""

from .activations import activate
from .blas import gemm_into
from .table import formula
from .views import flat_view, matrix_view

# Up to this many multiply-adds a product is done by the loops here rather than by BLAS.
SMALL_PRODUCT = 4096
# Fewer batch rows than this and x W, dz W^T are done by the loops here (x^T dz: _TN).
BLAS_MIN_ROWS = 8
BLAS_MIN_ROWS_TN = 4
# The loop for a b passes over four rows of b at once when b is at least this wide, or has at
# least this many rows.
UNROLL_MIN_WIDTH = 64
UNROLL_MIN_DEPTH = 9


@formula
def matmul_into(a, b, out):
    """out = a @ b, a (m, k) and b (k, n) C-contiguous."""
    m, k = a.shape
    n = b.shape[1]
    if n == 1:  # one output column (a binary output layer): a dot product per row
        column = flat_view(b)
        for i in range(m):
            total = a[i, 0] * column[0]
            for p in range(1, k):
                total += a[i, p] * column[p]
            out[i, 0] = total
    elif m >= BLAS_MIN_ROWS and m * k * n > SMALL_PRODUCT:
        gemm_into(a, b, out)
    else:
        # out[i] = sum_p a[i, p] b[p], four rows of b per pass over out[i], unless out's rows
        # are narrow and b has few rows (then the unrolled pass and its remainder cost more
        # than they save)
        unrolled_stop = k - 3 if n >= UNROLL_MIN_WIDTH or k >= UNROLL_MIN_DEPTH else 1
        for i in range(m):
            a_i0 = a[i, 0]
            for j in range(n):
                out[i, j] = a_i0 * b[0, j]
            p = 1
            while p < unrolled_stop:
                a0, a1, a2, a3 = a[i, p], a[i, p + 1], a[i, p + 2], a[i, p + 3]
                for j in range(n):
                    out[i, j] += a0 * b[p, j] + a1 * b[p + 1, j] + a2 * b[p + 2, j] \
                        + a3 * b[p + 3, j]
                p += 4
            while p < k:
                a_ip = a[i, p]
                for j in range(n):
                    out[i, j] += a_ip * b[p, j]
                p += 1


@formula
def matmul_tn_into(a, b, out):
    """out = a^T @ b, a (r, m) and b (r, n) C-contiguous: out (m, n). In the loop path, rows
    of ``a`` after the first skip their zero entries (ReLU outputs)."""
    rows, m = a.shape
    n = b.shape[1]
    if n == 1:  # one output column: out[:, 0] = sum_r b[r, 0] a[r, :], along the rows of a
        column = flat_view(out)
        b_0 = b[0, 0]
        for p in range(m):
            column[p] = a[0, p] * b_0
        for r in range(1, rows):
            b_r = b[r, 0]
            for p in range(m):
                column[p] += a[r, p] * b_r
    elif rows >= BLAS_MIN_ROWS_TN and rows * m * n > SMALL_PRODUCT:
        gemm_into(a.T, b, out)
    else:
        for p in range(m):
            a_0p = a[0, p]
            for j in range(n):
                out[p, j] = a_0p * b[0, j]
        for r in range(1, rows):
            for p in range(m):
                a_rp = a[r, p]
                if a_rp != 0.0:
                    for j in range(n):
                        out[p, j] += a_rp * b[r, j]


@formula
def matmul_nt_into(a, b, out):
    """out = a @ b^T, a (m, k) and b (n, k) C-contiguous: out (m, n), each entry one dot
    product of two contiguous rows."""
    m, k = a.shape
    n = b.shape[0]
    if k > 1 and m >= BLAS_MIN_ROWS and m * k * n > SMALL_PRODUCT:
        gemm_into(a, b.T, out)
    else:  # k == 1 (from a one-column output layer) is an outer product: loops, always
        for i in range(m):
            for j in range(n):
                total = a[i, 0] * b[j, 0]
                for p in range(1, k):
                    total += a[i, p] * b[j, p]
                out[i, j] = total


@formula
def dense_forward(x, params, kernel_offset, n_in, n_out, act, alpha, y, pre, kinds=None):
    """y = f(x W + b) with W and b read from the flat buffer at ``kernel_offset``; x W + b goes
    to ``pre`` when the activation needs it for its derivative (see activations.activate)."""
    weights = matrix_view(params, kernel_offset, n_in, n_out)
    bias = params[kernel_offset + n_in * n_out:kernel_offset + n_in * n_out + n_out]
    matmul_into(x, weights, y)
    activate(act, y, bias, alpha, pre, kinds)


@formula
def dense_backward(x, dz, params, grads, kernel_offset, n_in, n_out, dx, need_dx):
    """Write dW and db into the flat gradient buffer; dx = dz W^T when ``need_dx``."""
    size = n_in * n_out
    weights = matrix_view(params, kernel_offset, n_in, n_out)
    grad_w = matrix_view(grads, kernel_offset, n_in, n_out)
    grad_b = grads[kernel_offset + size:kernel_offset + size + n_out]
    matmul_tn_into(x, dz, grad_w)
    for j in range(n_out):
        grad_b[j] = dz[0, j]
    for i in range(1, dz.shape[0]):
        for j in range(n_out):
            grad_b[j] += dz[i, j]
    if need_dx:
        matmul_nt_into(dz, weights, dx)
