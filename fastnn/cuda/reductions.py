"""Deterministic reductions on the GPU: a block sums in a fixed tree, never with float atomics,
so the result depends only on the data, not on how threads are scheduled.

``accumulate_batch`` ends every training batch: one block sums the per-row statistics of
fastnn/cuda/losses.py over the batch's rows (thread t takes rows t, t + T, t + 2T, ..., then the
block adds the T partial sums pairwise in shared memory) and thread 0 adds the batch into the
epoch stats, laid out as fastnn/kernels/training.py's STAT_* slots plus one, STAT_HALTED_AT.
A batch whose loss is NaN or infinite sets stats[STAT_NONFINITE] and records its index; from then
on no batch is accumulated and the optimizer kernels skip their update (fastnn/cuda/optimizers.py),
as the CPU loop stops there. Everything stays on the device: the host reads the stats once per
call of the trainer.
"""

import math

from numba import cuda, float64

from ..kernels.training import (N_STATS, STAT_ABS_ERR, STAT_CORRECT, STAT_LOSS, STAT_LR,
                                STAT_NONFINITE, STAT_ROWS, STAT_SQ_ERR)
from .losses import N_ROW_STATS, ROW_ABS_ERR, ROW_CORRECT, ROW_LOSS, ROW_SQ_ERR

# Threads of the one-block reductions (a power of two).
REDUCE_THREADS = 128
# The device stats array: the CPU's slots, then the index of the batch that halted the run.
STAT_HALTED_AT = N_STATS
N_DEVICE_STATS = N_STATS + 1


@cuda.jit
def accumulate_batch(row_stats, rows, cols, loss_scale, lr, batch, stats):
    """Add one batch's row statistics to ``stats`` (one block of REDUCE_THREADS threads)."""
    partial = cuda.shared.array((REDUCE_THREADS, N_ROW_STATS), float64)
    t = cuda.threadIdx.x
    for c in range(N_ROW_STATS):
        partial[t, c] = 0.0
    for i in range(t, rows, REDUCE_THREADS):
        for c in range(N_ROW_STATS):
            partial[t, c] += row_stats[i, c]
    cuda.syncthreads()
    width = REDUCE_THREADS // 2
    while width > 0:
        if t < width:
            for c in range(N_ROW_STATS):
                partial[t, c] += partial[t + width, c]
        cuda.syncthreads()
        width //= 2
    if t != 0 or stats[STAT_NONFINITE] != 0.0:
        return
    loss = partial[0, ROW_LOSS] * loss_scale
    if not math.isfinite(loss):
        stats[STAT_NONFINITE] = 1.0
        stats[STAT_HALTED_AT] = batch
        return
    stats[STAT_LOSS] += loss * rows
    stats[STAT_ROWS] += rows
    stats[STAT_CORRECT] += partial[0, ROW_CORRECT]
    stats[STAT_ABS_ERR] += partial[0, ROW_ABS_ERR] / cols
    stats[STAT_SQ_ERR] += partial[0, ROW_SQ_ERR] / cols
    stats[STAT_LR] = lr


def launch_accumulate_batch(row_stats, rows, cols, loss_scale, lr, batch, stats):
    accumulate_batch[1, REDUCE_THREADS](row_stats, rows, cols, loss_scale, lr, batch, stats)
