"""The kernel regularizers' penalty and gradient on the GPU (fastnn/kernels/regularization.py).

For each Dense or Maxout op with coefficients l1, l2 and kernel W:

    penalty  R(W) = l1 sum |w| + l2 sum w^2      gradient  dR/dw = l1 sign(w) + 2 l2 w

The gradient (the CPU's ``penalty_gradient`` formula) is added to the data loss's gradient one
thread per weight; the two sums are a deterministic two-pass reduction (float64 partial sums per
block, then one block), whose last thread adds R (times the batch's weight sum) to the epoch's
loss stat, as the CPU adds the penalty to the batch loss, unless the run has halted.
"""

import numpy as np
from numba import cuda, float64

from ..kernels.regularization import penalized_span, penalty_gradient
from ..kernels.training import STAT_LOSS, STAT_NONFINITE
from ._launch import device, grid
from .reductions import MAX_BLOCKS, REDUCE_THREADS, STAT_LAST_WEIGHT, sum_blocks, tree_sum

gradient_of = device(penalty_gradient)


@cuda.jit
def penalty_gradient_kernel(params, grads, start, size, l1, l2):
    k = cuda.grid(1)
    if k >= size:
        return
    grads[start + k] += gradient_of(params[start + k], l1, l2)


@cuda.jit
def penalty_partials_kernel(params, start, size, partials):
    """Block b: partials[b] = (sum |w|, sum w^2) over its strided share of the kernel."""
    partial = cuda.shared.array((REDUCE_THREADS, 2), float64)
    t = cuda.threadIdx.x
    k = cuda.blockIdx.x * REDUCE_THREADS + t
    stride = cuda.gridDim.x * REDUCE_THREADS
    abs_sum = 0.0
    sq_sum = 0.0
    while k < size:
        w = params[start + k]
        abs_sum += abs(w)
        sq_sum += w * w
        k += stride
    partial[t, 0] = abs_sum
    partial[t, 1] = sq_sum
    tree_sum(partial, t)
    if t == 0:
        partials[cuda.blockIdx.x, 0] = partial[0, 0]
        partials[cuda.blockIdx.x, 1] = partial[0, 1]


@cuda.jit
def penalty_total_kernel(partials, n_partials, l1, l2, totals, index, stats):
    """One block: totals[index] = l1 sum |w| + l2 sum w^2; the loss stat gets it times the
    batch's weight sum."""
    partial = cuda.shared.array((REDUCE_THREADS, 2), float64)
    t = cuda.threadIdx.x
    partial[t, 0] = 0.0
    partial[t, 1] = 0.0
    for b in range(t, n_partials, REDUCE_THREADS):
        partial[t, 0] += partials[b, 0]
        partial[t, 1] += partials[b, 1]
    tree_sum(partial, t)
    if t == 0:
        total = l1 * partial[0, 0] + l2 * partial[0, 1]
        totals[index] = total
        if stats[STAT_NONFINITE] == 0.0:
            stats[STAT_LOSS] += total * stats[STAT_LAST_WEIGHT]


class Penalty:
    """The regularized ops of a plan, with the device workspace of their penalty."""

    def __init__(self, ops, opf):
        self.terms = []  # (first weight, number of weights, l1, l2)
        for i in range(ops.shape[0]):
            start, size, l1, l2 = penalized_span(ops, opf, i)
            if size:
                self.terms.append((int(start), int(size), float(l1), float(l2)))
        if self.terms:
            self.partials = cuda.device_array((MAX_BLOCKS, 2), dtype=np.float64)
            self.totals = cuda.device_array(len(self.terms), dtype=np.float64)

    def __call__(self, params, grads, stats):
        """Add every term's gradient to ``grads`` and its value (times the batch's weight sum,
        stats[STAT_LAST_WEIGHT]) to the loss stat."""
        for index, (start, size, l1, l2) in enumerate(self.terms):
            penalty_gradient_kernel[grid(size)](params, grads, start, size, l1, l2)
            blocks = sum_blocks(size)
            penalty_partials_kernel[blocks, REDUCE_THREADS](params, start, size, self.partials)
            penalty_total_kernel[1, REDUCE_THREADS](self.partials, blocks, l1, l2, self.totals,
                                                    index, stats)

    def value(self):
        """The total penalty of the last call (copied to the host)."""
        return float(self.totals.copy_to_host().sum()) if self.terms else 0.0
