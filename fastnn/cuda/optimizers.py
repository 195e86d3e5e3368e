"""The optimizer step on the GPU: one kernel per optimizer, made from the table of
fastnn/kernels/optimizers.py.

Each kernel runs one thread per parameter: the thread computes the step's coefficients with the
entry's ``coefficients`` formula (the same float64 arithmetic, cast to the parameters' dtype, as
the CPU does once per step), then applies the entry's ``update`` to its parameter and state
column. Nadam's coefficients read the running product of its momentum factors from the
thread's own entry of state row 2 (every entry holds it), so no thread reads another's state.

Every update is skipped once the run has halted on a non-finite loss (stats[STAT_NONFINITE] set
by fastnn/cuda/reductions.py), so the weights stay those from before the bad batch, as on the CPU.
"""

import functools

import numpy as np
from numba import cuda

from ..kernels.optimizers import OPTIMIZERS
from ..kernels.training import STAT_NONFINITE
from ._launch import device, grid


@functools.cache
def update_kernel(code):
    entry = OPTIMIZERS[code]
    coefficients, update = device(entry.coefficients), device(entry.update)

    @cuda.jit
    def kernel(params, grads, state, hyper, lr, t, stats):
        i = cuda.grid(1)
        if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
            return
        c = coefficients(hyper, lr, t, params.dtype.type, state, i)
        update(params, grads, state, i, c)
    return kernel


def check_supported(optimizer):
    if not 0 <= optimizer.code < len(OPTIMIZERS):
        raise ValueError(f"the {optimizer.name!r} optimizer has no CUDA kernel yet; "
                         "use device='cpu'")


def optimizer_step(code, hyper, params, grads, state, lr, t, stats):
    """Apply one update of optimizer ``code`` (step ``t``, 1-based) in place on the device;
    ``hyper`` a float64 device array (the optimizer's ``hyper()``)."""
    if params.shape[0] == 0:
        return
    update_kernel(code)[grid(params.shape[0])](params, grads, state, hyper, np.float64(lr),
                                               np.int64(t), stats)
