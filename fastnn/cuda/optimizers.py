"""CUDA twins of fastnn/kernels/optimizers.py: one fused update over the flat parameter buffer,
one thread per parameter, the same formulas as the CPU kernels.

    sgd     w <- w - lr g

Every update is skipped once the run has halted on a non-finite loss (stats[STAT_NONFINITE] set
by fastnn/cuda/reductions.py), so the weights stay those from before the bad batch, as on the CPU.
"""

from numba import cuda

from ..kernels import optimizers as cpu
from ..kernels.training import STAT_NONFINITE
from ._launch import grid


@cuda.jit
def sgd_kernel(params, grads, lr, stats):
    i = cuda.grid(1)
    if i < params.shape[0] and stats[STAT_NONFINITE] == 0.0:
        params[i] -= lr * grads[i]


def sgd(hyper, params, grads, state, lr, t, stats):
    sgd_kernel[grid(params.shape[0])](params, grads, lr, stats)


# optimizer code -> its launch, called as update(hyper, params, grads, state, lr, t, stats)
UPDATES = {cpu.SGD: sgd}


def check_supported(optimizer):
    if optimizer.code not in UPDATES:
        raise ValueError(f"the {optimizer.name!r} optimizer has no CUDA kernel yet; "
                         "use device='cpu'")


def optimizer_step(code, hyper, params, grads, state, lr, t, stats):
    """Apply one update of optimizer ``code`` (step ``t``, 1-based) in place on the device."""
    UPDATES[code](hyper, params, grads, state, lr, t, stats)
