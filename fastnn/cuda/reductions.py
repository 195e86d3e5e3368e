"""Deterministic reductions on the GPU: a block sums in a fixed tree, never with float atomics,
so the result depends only on the data, not on how threads are scheduled.

``launch_sum_of_squares`` gives sum_i x_i^2 (in float64) of a flat buffer in two passes: a fixed
number of blocks, a function of the length only, each sums a strided share of the buffer into a
partial sum; one block sums the partials. Gradient clipping uses it for the global norm.

``weight_total`` (one block) sums a batch's sample weights, which the loss's scale needs.

``accumulate_batch`` ends every training batch: one block sums the per-row statistics of
fastnn/cuda/losses.py (the ROW_* columns, defined here) over the batch's rows (thread t takes
rows t, t + T, t + 2T, ..., then the block adds the T partial sums pairwise in shared memory)
and thread 0 adds the batch into the epoch stats, laid out as fastnn/kernels/training.py's
STAT_* slots plus two: STAT_HALTED_AT and STAT_LAST_WEIGHT (the batch's weight sum, by which the
weight penalty is counted into the loss, fastnn/cuda/regularization.py). A batch whose loss is
NaN or infinite sets stats[STAT_NONFINITE] and records its index; from then on no batch is
accumulated and the optimizer kernels skip their update (fastnn/cuda/optimizers.py), as the CPU
loop stops there. Everything stays on the device: the host reads the stats once per call of the
trainer.
"""

import math

import numpy as np
from numba import cuda, float64

from ..kernels.losses import mean_scale
from ..kernels.training import (N_STATS, STAT_ABS_ERR, STAT_BATCHES, STAT_CORRECT, STAT_LOSS,
                                STAT_LR, STAT_NONFINITE, STAT_SQ_ERR, STAT_WEIGHT)
from ._launch import REDUCE_THREADS, device

# The per-row statistics of a batch (fastnn/cuda/losses.py writes them).
ROW_LOSS, ROW_CORRECT, ROW_ABS_ERR, ROW_SQ_ERR, ROW_WEIGHT = range(5)
N_ROW_STATS = 5

# A sum over n values uses ceil(n / (REDUCE_THREADS * ITEMS_PER_THREAD)) blocks, at most
# MAX_BLOCKS (then each thread takes more values).
ITEMS_PER_THREAD = 4
MAX_BLOCKS = 256
scale_of = device(mean_scale)
# The device stats array: the CPU's slots, then the index of the batch that halted the run and
# the last batch's weight sum.
STAT_HALTED_AT, STAT_LAST_WEIGHT = N_STATS, N_STATS + 1
N_DEVICE_STATS = N_STATS + 2


@cuda.jit(device=True)
def tree_sum(partial, t):
    """Sum the rows of the block's shared (REDUCE_THREADS, columns) array into row 0, pairwise
    halving; thread ``t`` is the calling thread. Every thread of the block must call it."""
    cuda.syncthreads()
    width = REDUCE_THREADS // 2
    while width > 0:
        if t < width:
            for c in range(partial.shape[1]):
                partial[t, c] += partial[t + width, c]
        cuda.syncthreads()
        width //= 2


@cuda.jit
def partial_sums_of_squares(x, partials):
    """Block b: partials[b] = sum of x_i^2 over i = b T + t + k (blocks T), all t and k."""
    partial = cuda.shared.array((REDUCE_THREADS, 1), float64)
    t = cuda.threadIdx.x
    i = cuda.blockIdx.x * REDUCE_THREADS + t
    stride = cuda.gridDim.x * REDUCE_THREADS
    total = 0.0
    while i < x.shape[0]:
        v = float64(x[i])
        total += v * v
        i += stride
    partial[t, 0] = total
    tree_sum(partial, t)
    if t == 0:
        partials[cuda.blockIdx.x] = partial[0, 0]


@cuda.jit
def sum_partials(partials, n, total):
    """One block: total[0] = sum of partials[:n]."""
    partial = cuda.shared.array((REDUCE_THREADS, 1), float64)
    t = cuda.threadIdx.x
    s = 0.0
    for i in range(t, n, REDUCE_THREADS):
        s += partials[i]
    partial[t, 0] = s
    tree_sum(partial, t)
    if t == 0:
        total[0] = partial[0, 0]


@cuda.jit
def weight_total(weights, rows, total):
    """One block: total[0] = sum of weights[:rows] (rows when ``weights`` is empty)."""
    partial = cuda.shared.array((REDUCE_THREADS, 1), float64)
    t = cuda.threadIdx.x
    s = 0.0
    if weights.shape[0] > 0:
        for i in range(t, rows, REDUCE_THREADS):
            s += weights[i]
    partial[t, 0] = s
    tree_sum(partial, t)
    if t == 0:
        total[0] = partial[0, 0] if weights.shape[0] > 0 else rows


def sum_blocks(n):
    """The number of partial sums for a buffer of ``n`` values."""
    return min(MAX_BLOCKS, max(1, -(-int(n) // (REDUCE_THREADS * ITEMS_PER_THREAD))))


def launch_sum_of_squares(x, partials, total):
    """total[0] = sum x_i^2 (float64); ``partials`` a float64 device array of MAX_BLOCKS."""
    blocks = sum_blocks(x.shape[0])
    partial_sums_of_squares[blocks, REDUCE_THREADS](x, partials)
    sum_partials[1, REDUCE_THREADS](partials, blocks, total)


@cuda.jit
def accumulate_batch(row_stats, rows, cols, per_row, lr, batch, stats):
    """Add one batch's row statistics to ``stats`` (one block of REDUCE_THREADS threads);
    ``per_row``: the loss is a mean over rows (else over all elements)."""
    partial = cuda.shared.array((REDUCE_THREADS, N_ROW_STATS), float64)
    t = cuda.threadIdx.x
    for c in range(N_ROW_STATS):
        partial[t, c] = 0.0
    for i in range(t, rows, REDUCE_THREADS):
        for c in range(N_ROW_STATS):
            partial[t, c] += row_stats[i, c]
    tree_sum(partial, t)
    if t != 0 or stats[STAT_NONFINITE] != 0.0:
        return
    weight = partial[0, ROW_WEIGHT]
    loss = partial[0, ROW_LOSS] * scale_of(weight, cols, per_row)
    if not math.isfinite(loss):
        stats[STAT_NONFINITE] = 1.0
        stats[STAT_HALTED_AT] = batch
        return
    stats[STAT_LOSS] += loss * weight
    stats[STAT_WEIGHT] += weight
    stats[STAT_LAST_WEIGHT] = weight
    stats[STAT_CORRECT] += partial[0, ROW_CORRECT]
    stats[STAT_ABS_ERR] += partial[0, ROW_ABS_ERR] / cols
    stats[STAT_SQ_ERR] += partial[0, ROW_SQ_ERR] / cols
    stats[STAT_LR] = lr
    stats[STAT_BATCHES] += 1.0


def launch_accumulate_batch(row_stats, rows, cols, per_row, lr, batch, stats):
    accumulate_batch[1, REDUCE_THREADS](row_stats, rows, cols, per_row,
                                        np.float64(lr), batch, stats)
