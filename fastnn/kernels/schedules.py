"""Learning-rate schedule kernels: the rate of update t of a run, evaluated inside the loop.

``t`` is the number of updates made before this one (0 for the first update of a run);
per-epoch schedules use the epoch number e = t // steps_per_epoch + 1 (the first epoch is 1).
``spec`` holds the schedule's parameters (its class in fastnn.schedules writes it):

    CONSTANT      [lr]                                   lr
    TIME_DECAY    [lr0, k]                               lr0 / (1 + k t)
    EXPONENTIAL   [lr0, k]                               lr0 exp(-k t)
    STEP          [lr0, factor, n]                       lr0 factor^floor((e - 1) / n)
    INVERSE_TIME  [lr0, k]                               lr0 / (1 + k e)
    CYCLIC        [base, max, step_size, mode, gamma, shape]   see ``cyclic_rate``
    COSINE        [lr0, decay_steps, alpha, target, warmup_steps]   see ``cosine_rate``
    ONE_CYCLE     [initial, max, min, end_1, end_2, anneal]   see ``one_cycle_rate``

``learning_rate`` divides the scheduled value by (1 + decay t): the optimizers' ``decay=``.
"""

import math

from numba.core import types

from ._jit import kernel
from .table import switch

CONSTANT, TIME_DECAY, EXPONENTIAL, STEP, INVERSE_TIME, CYCLIC, COSINE, ONE_CYCLE = range(8)

# CYCLIC spec[3]: how the amplitude changes from cycle to cycle
MODE_TRIANGULAR, MODE_TRIANGULAR2, MODE_EXP_RANGE = range(3)
# CYCLIC spec[5]: the window over one cycle, 0 at the cycle's ends and 1 at its middle
SHAPE_TRIANGULAR, SHAPE_WELCH, SHAPE_HANN = range(3)
# ONE_CYCLE spec[5]: how each phase moves between its end points
ANNEAL_COS, ANNEAL_LINEAR = range(2)


@kernel
def cyclic_rate(spec, t):
    """Smith's cyclical rate: cycle c = floor(1 + t / (2 s)), x = |t / s - 2 c + 1| (1 at the
    cycle's ends, 0 at its middle), lr = base + (max - base) * window(x) * scale, where window
    is 1 - x (triangular), 1 - x^2 (Welch) or (1 + cos(pi x)) / 2 (Hann) and scale is 1
    (triangular), 1 / 2^(c - 1) (triangular2) or gamma^t (exp_range)."""
    base, top, step_size = spec[0], spec[1], spec[2]
    mode, gamma, shape = int(spec[3]), spec[4], int(spec[5])
    cycle = math.floor(1.0 + t / (2.0 * step_size))
    x = abs(t / step_size - 2.0 * cycle + 1.0)
    if shape == SHAPE_WELCH:
        window = 1.0 - x * x
    elif shape == SHAPE_HANN:
        window = 0.5 * (1.0 + math.cos(math.pi * x))
    else:
        window = 1.0 - x
    window = max(0.0, window)
    if mode == MODE_TRIANGULAR2:
        scale = 1.0 / 2.0 ** (cycle - 1.0)
    elif mode == MODE_EXP_RANGE:
        scale = gamma ** t
    else:
        scale = 1.0
    return base + (top - base) * window * scale


@kernel
def cosine_rate(spec, t):
    """Cosine decay with linear warm-up (Keras's CosineDecay): for t < w, lr0 + (target - lr0)
    t / w; then with s = min(t - w, d), target ((1 - alpha) (1 + cos(pi s / d)) / 2 + alpha)."""
    lr0, decay_steps, alpha, target, warmup = spec[0], spec[1], spec[2], spec[3], spec[4]
    if t < warmup:
        return lr0 + (target - lr0) * (t / warmup)
    s = min(t - warmup, decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * s / decay_steps))
    return target * ((1.0 - alpha) * cosine + alpha)


@kernel
def anneal(start, end, pct, strategy):
    """From ``start`` (pct 0) to ``end`` (pct 1): half a cosine, or a straight line."""
    if strategy == ANNEAL_LINEAR:
        return (end - start) * pct + start
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)


@kernel
def one_cycle_rate(spec, t):
    """torch.optim.lr_scheduler.OneCycleLR's rate (two phases): initial -> max over updates
    [0, end_1], then max -> min over [end_1, end_2]; after end_2 it stays at min."""
    initial, top, bottom, end_1, end_2 = spec[0], spec[1], spec[2], spec[3], spec[4]
    strategy = int(spec[5])
    if t <= end_1:
        return anneal(initial, top, t / end_1, strategy)
    if t >= end_2:
        return bottom
    return anneal(top, bottom, (t - end_1) / (end_2 - end_1), strategy)


def _constant(spec, t, epoch):
    return spec[0]


def _time_decay(spec, t, epoch):
    return spec[0] / (1.0 + spec[1] * t)


def _exponential(spec, t, epoch):
    return spec[0] * math.exp(-spec[1] * t)


def _step(spec, t, epoch):
    return spec[0] * spec[1] ** ((epoch - 1) // int(spec[2]))


def _inverse_time(spec, t, epoch):
    return spec[0] / (1.0 + spec[1] * epoch)


def _cyclic(spec, t, epoch):
    return cyclic_rate(spec, t)


def _cosine(spec, t, epoch):
    return cosine_rate(spec, t)


def _one_cycle(spec, t, epoch):
    return one_cycle_rate(spec, t)


_rate_cases = switch([(CONSTANT, _constant), (TIME_DECAY, _time_decay),
                      (EXPONENTIAL, _exponential), (STEP, _step), (INVERSE_TIME, _inverse_time),
                      (CYCLIC, _cyclic), (COSINE, _cosine), (ONE_CYCLE, _one_cycle)],
                     "schedule", returns=types.float64)


@kernel
def scheduled_rate(code, spec, t, steps_per_epoch, kinds=None):
    """The rate of update ``t`` (0-based) under schedule ``code`` with parameters ``spec``.
    ``kinds``: the table entries compiled (fastnn/kernels/kinds.py)."""
    return _rate_cases(kinds, code, spec, t, t // steps_per_epoch + 1)


@kernel
def learning_rate(code, spec, decay, t, steps_per_epoch, kinds=None):
    """The rate the optimizer applies at update ``t``: the schedule's value / (1 + decay t)."""
    return scheduled_rate(code, spec, t, steps_per_epoch, kinds) / (1.0 + decay * t)
