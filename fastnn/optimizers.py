"""Optimizers: small classes that validate hyperparameters and hand them to one fused kernel.

Each optimizer's update is a single @njit pass over the whole flat parameter buffer
(fastnn/kernels/optimizers.py); this module only validates settings and lays them out as the
kernel's ``hyper`` vector and ``state`` rows.
"""

import numpy as np

from .kernels import optimizers as _k
from .kernels import schedules as _sched


def _learning_rate(learning_rate, lr, default):
    if lr is not None:
        if learning_rate is not None:
            raise ValueError("give learning_rate or its alias lr, not both")
        learning_rate = lr
    if learning_rate is None:
        learning_rate = default
    if isinstance(learning_rate, bool) or not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    return float(learning_rate)


class Optimizer:
    """Base class: ``code`` picks the kernel, ``n_slots`` rows of state per parameter."""

    code = None
    n_slots = 0
    name = None

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate

    def hyper(self):
        """The kernel's hyperparameter vector (float64)."""
        return np.zeros(1)

    def initial_state(self, n_params, dtype):
        return np.zeros((self.n_slots, n_params), dtype=dtype)

    def schedule(self):
        """(schedule code, schedule spec) for the compiled loop."""
        return _sched.CONSTANT, np.zeros(1)

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}


class SGD(Optimizer):
    """Stochastic gradient descent: w <- w - lr * g."""

    code = _k.SGD
    name = "sgd"

    def __init__(self, learning_rate=None, *, lr=None):
        super().__init__(_learning_rate(learning_rate, lr, 0.01))


OPTIMIZERS = {"sgd": SGD}


def get(spec):
    """An Optimizer from an instance, a name, or a config dict."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, dict):
        config = dict(spec)
        return _from_name(config.pop("name"), config)
    return _from_name(spec, {})


def _from_name(name, kwargs):
    key = name.lower() if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key](**kwargs)
