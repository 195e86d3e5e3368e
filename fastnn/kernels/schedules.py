"""Learning-rate schedule kernels: the rate for update t (0-based) of a run.

    constant    lr_t = lr0
"""

from ._jit import kernel

CONSTANT = 0


@kernel
def scheduled_rate(code, spec, base_lr, t):
    """The learning rate of update ``t`` under schedule ``code`` with parameters ``spec``."""
    if code == CONSTANT:
        return base_lr
    return base_lr
