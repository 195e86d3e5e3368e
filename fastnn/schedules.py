"""Learning-rate schedules: objects that describe the rate of every update, for ``learning_rate=``.

A schedule is evaluated inside the compiled training loop at every update (the formulas are in
fastnn/kernels/schedules.py and docs/schedules.md); this module validates the settings and lays
them out as the kernel's ``spec`` vector. Calling a schedule, ``schedule(t, steps_per_epoch)``,
gives the rate of update ``t`` (0-based) from the same kernel.

    fn.SGD(learning_rate=fn.schedules.CyclicLR(base_lr=1e-3, max_lr=6e-3, step_size=200))
"""


import numpy as np

from .checks import number as checked_number
from .kernels import schedules as _k


def checked_step(step, steps_per_epoch, step_name="step"):
    """(step, steps_per_epoch) as ints, or ValueError: a 0-based update index and a positive
    number of updates per epoch."""
    for name, value, least in ((step_name, step, 0), ("steps_per_epoch", steps_per_epoch, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            kind = "non-negative" if least == 0 else "positive"
            raise ValueError(f"{name} must be a {kind} integer, got {value!r}")
    return int(step), int(steps_per_epoch)


def _positive(name, value):
    return checked_number(name, value, low=0.0, low_open=True)


def _count(name, value):
    """A positive whole number (an int, or a float with no fraction) as a float."""
    value = _positive(name, value)
    if value != int(value):
        raise ValueError(f"{name} must be a whole number of updates or epochs, got {value!r}")
    return value


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return choices.index(value)


class Schedule:
    """Base class: ``code`` picks the formula, ``spec()`` is its parameter vector."""

    code = None
    name = None

    def spec(self):
        """The kernel's parameter vector (float64)."""
        raise NotImplementedError

    def get_config(self):
        """A JSON-serialisable dict that ``schedules.get`` turns back into this schedule."""
        return {"name": self.name, **self._arguments()}

    def _arguments(self):
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def __call__(self, step, steps_per_epoch=1):
        """The rate of update ``step`` (0-based) with ``steps_per_epoch`` updates an epoch."""
        step, steps_per_epoch = checked_step(step, steps_per_epoch)
        return float(_k.scheduled_rate(self.code, self.spec(), step, steps_per_epoch, None))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._arguments().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """lr_t = learning_rate."""

    code, name = _k.CONSTANT, "constant"

    def __init__(self, learning_rate):
        self.learning_rate = _positive("learning_rate", learning_rate)

    def spec(self):
        return np.array([self.learning_rate])


class TimeBasedDecay(Schedule):
    """lr_t = initial_learning_rate / (1 + decay_rate * t), t the update (0-based).

    The same as an optimizer's ``decay=decay_rate``; Keras's
    ``InverseTimeDecay(lr0, decay_steps=1, decay_rate=k)``."""

    code, name = _k.TIME_DECAY, "time_based_decay"

    def __init__(self, initial_learning_rate, decay_rate):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_rate = checked_number("decay_rate", decay_rate, low=0.0)

    def spec(self):
        return np.array([self.initial_learning_rate, self.decay_rate])


class ExponentialDecay(Schedule):
    """lr_t = initial_learning_rate * exp(-k * t), t the update (0-based).

    Keras's ``ExponentialDecay(lr0, decay_steps=s, decay_rate=r)`` is k = -ln(r) / s."""

    code, name = _k.EXPONENTIAL, "exponential_decay"

    def __init__(self, initial_learning_rate, k):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.k = checked_number("k", k, low=0.0)

    def spec(self):
        return np.array([self.initial_learning_rate, self.k])


class StepDecay(Schedule):
    """Multiply by ``factor`` every ``every`` epochs: lr = lr0 * factor^floor((e - 1) / every)
    in epoch e (1-based): the first ``every`` epochs run at lr0."""

    code, name = _k.STEP, "step_decay"

    def __init__(self, initial_learning_rate, factor=0.5, every=10):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.factor = checked_number("factor", factor, low=0.0, high=1.0, low_open=True)
        self.every = int(_count("every", every))

    def spec(self):
        return np.array([self.initial_learning_rate, self.factor, self.every])


class InverseTimeDecay(Schedule):
    """Per epoch: lr = initial_learning_rate / (1 + decay_rate * e) in epoch e (1-based), so
    lr0 = 0.2 with decay_rate 1 runs epochs 1..4 at 0.1, 0.0667, 0.05, 0.04.

    Keras's ``InverseTimeDecay(lr0, decay_steps=steps_per_epoch, decay_rate, staircase=True)``
    reports these values at the end of epoch e, having applied the previous epoch's value."""

    code, name = _k.INVERSE_TIME, "inverse_time_decay"

    def __init__(self, initial_learning_rate, decay_rate=1.0):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_rate = checked_number("decay_rate", decay_rate, low=0.0)

    def spec(self):
        return np.array([self.initial_learning_rate, self.decay_rate])


class CyclicLR(Schedule):
    """Smith's cyclical learning rate, updated after every batch.

    One cycle is 2 * ``step_size`` updates: base_lr at its ends (t = 0, 2s, 4s, ...), the
    cycle's peak at its middle (t = s, 3s, ...). ``mode``: "triangular" (peak max_lr),
    "triangular2" (the peak's height above base_lr halves every cycle) or "exp_range" (scaled by
    gamma^t). ``shape``: the window over a cycle, "triangular" (linear), "welch" (parabolic)
    or "hann" (sinusoidal)."""

    code, name = _k.CYCLIC, "cyclic"
    MODES = ("triangular", "triangular2", "exp_range")
    SHAPES = ("triangular", "welch", "hann")

    def __init__(self, base_lr=0.001, max_lr=0.006, step_size=2000, mode="triangular",
                 gamma=1.0, shape="triangular"):
        self.base_lr = _positive("base_lr", base_lr)
        self.max_lr = _positive("max_lr", max_lr)
        if self.max_lr < self.base_lr:
            raise ValueError(f"max_lr ({max_lr!r}) must be at least base_lr ({base_lr!r})")
        self.step_size = int(_count("step_size", step_size))
        _choice("mode", mode, self.MODES)
        _choice("shape", shape, self.SHAPES)
        self.mode, self.shape = mode, shape
        self.gamma = checked_number("gamma", gamma, low=0.0, high=1.0, low_open=True)

    def spec(self):
        return np.array([self.base_lr, self.max_lr, self.step_size,
                         self.MODES.index(self.mode), self.gamma, self.SHAPES.index(self.shape)])


class CosineDecay(Schedule):
    """Keras's CosineDecay with linear warm-up: over ``warmup_steps`` updates from
    initial_learning_rate to ``warmup_target`` (default: no warm-up target, the initial rate),
    then half a cosine down to alpha * target over ``decay_steps`` updates, then constant."""

    code, name = _k.COSINE, "cosine_decay"

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = int(_count("decay_steps", decay_steps))
        self.alpha = checked_number("alpha", alpha, low=0.0, high=1.0)
        self.warmup_target = (None if warmup_target is None
                              else _positive("warmup_target", warmup_target))
        self.warmup_steps = 0 if warmup_steps == 0 else int(_count("warmup_steps", warmup_steps))

    def spec(self):
        target = self.initial_learning_rate if self.warmup_target is None else self.warmup_target
        return np.array([self.initial_learning_rate, self.decay_steps, self.alpha, target,
                         self.warmup_steps])


class OneCycle(Schedule):
    """torch.optim.lr_scheduler.OneCycleLR's rate: from max_lr / div_factor up to max_lr over
    the first pct_start of ``total_steps`` updates, then down to
    max_lr / (div_factor * final_div_factor) at update total_steps - 1, and there after.
    ``anneal_strategy`` "cos" or "linear". (The rate only: momentum is not cycled.)"""

    code, name = _k.ONE_CYCLE, "one_cycle"
    STRATEGIES = ("cos", "linear")

    def __init__(self, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, anneal_strategy="cos"):
        self.max_lr = _positive("max_lr", max_lr)
        self.total_steps = int(_count("total_steps", total_steps))
        self.pct_start = checked_number("pct_start", pct_start, low=0.0, high=1.0, low_open=True,
                                 high_open=True)
        self.div_factor = _positive("div_factor", div_factor)
        self.final_div_factor = _positive("final_div_factor", final_div_factor)
        _choice("anneal_strategy", anneal_strategy, self.STRATEGIES)
        self.anneal_strategy = anneal_strategy
        end_1 = self.pct_start * self.total_steps - 1
        if not 0 < end_1 < self.total_steps - 1:
            raise ValueError(f"pct_start * total_steps ({end_1 + 1:g}) must leave at least one "
                             "update in each phase: raise total_steps or change pct_start")

    def spec(self):
        initial = self.max_lr / self.div_factor
        end_1 = self.pct_start * self.total_steps - 1
        return np.array([initial, self.max_lr, initial / self.final_div_factor, end_1,
                         self.total_steps - 1, self.STRATEGIES.index(self.anneal_strategy)])


SCHEDULES = {cls.name: cls for cls in (Constant, TimeBasedDecay, ExponentialDecay, StepDecay,
                                       InverseTimeDecay, CyclicLR, CosineDecay, OneCycle)}

# Short names, as ``fastnn train --schedule`` takes them.
ALIASES = {"time": "time_based_decay", "step": "step_decay", "exp": "exponential_decay",
           "cosine": "cosine_decay"}


def canonical_name(name):
    """The schedule name that ``name`` (a name or one of ALIASES) stands for."""
    key = ALIASES.get(name, name)
    if key not in SCHEDULES:
        known = ", ".join(list(SCHEDULES) + list(ALIASES))
        raise ValueError(f"unknown schedule {name!r}; choose one of: {known}")
    return key


def get(spec):
    """A Schedule from an instance or a config dict (``{"name": ..., **arguments}``)."""
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"a learning-rate schedule must be a Schedule or its config dict, "
                         f"got {spec!r}")
    config = dict(spec)
    return SCHEDULES[canonical_name(config.pop("name"))](**config)
