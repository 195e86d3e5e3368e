r"""Optimizers: small classes that validate hyperparameters and hand them to one fused kernel.

Each optimizer's update is a single compiled pass over the whole flat parameter buffer
(fastnn/kernels/optimizers.py), following torch.optim's formulas; this module validates the
settings and lays out the ``state`` rows. The ``hyper`` vector is built from the names its
kernel declares (``kernel.settings``): each is an attribute of the optimizer. Variants
(momentum, Nesterov, centered, AMSGrad, weight decay) are flags in ``hyper``, not classes.

Every optimizer also takes:
    learning_rate   a positive number or a schedule from fastnn.schedules (``lr=`` is an alias)
    decay           time-based decay: the rate of update t (0-based) is lr_t / (1 + decay t)
    clipnorm        rescale the gradient so its global L2 norm is at most clipnorm
    clipvalue       clip each gradient component to [-clipvalue, clipvalue]
The rate, the clipping and the update all run inside the compiled training loop.
"""

import numpy as np

from . import schedules as schedules_mod
from .checks import choice, flag, number
from .kernels import optimizers as _k
from .kernels.training import OptimizerSettings, ScheduleSettings
from .schedules import checked_step


def _rate(value):
    """A learning rate as a positive float or a Schedule."""
    if isinstance(value, (schedules_mod.Schedule, dict)):
        return schedules_mod.get(value)
    return number("learning_rate", value, low=0.0, low_open=True)


def _unit(name, value):
    """A value in [0, 1): betas, rho, momentum."""
    return number(name, value, low=0.0, high=1.0, high_open=True)


def _non_negative(name, value):
    return number(name, value, low=0.0)


def _clip(name, value):
    return None if value is None else number(name, value, low=0.0, low_open=True)


def _flat_buffer(name, array):
    if not (isinstance(array, np.ndarray) and array.ndim == 1 and array.flags.c_contiguous
            and array.dtype in (np.float32, np.float64)):
        raise ValueError(f"{name} must be a contiguous 1-D float32 or float64 array")
    return array


class Optimizer:
    """Base class: ``kernel`` is the optimizer's entry in the kernel table (its code is its
    position there), ``n_slots`` rows of state per parameter, ``options`` names the
    hyperparameters that ``get_config`` saves besides the common ones."""

    kernel = None
    name = None
    default_learning_rate = None
    options = ()

    def __init__(self, learning_rate=None, lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        if lr is not None:
            if learning_rate is not None:
                raise ValueError("give learning_rate or its alias lr, not both")
            learning_rate = lr
        self.learning_rate = self.default_learning_rate if learning_rate is None \
            else learning_rate
        self.decay = _non_negative("decay", decay)
        self.clipnorm = _clip("clipnorm", clipnorm)
        self.clipvalue = _clip("clipvalue", clipvalue)

    @property
    def learning_rate(self):
        """The rate: a float, or a schedule (fastnn.schedules) evaluated at every update."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = _rate(value)

    @property
    def code(self):
        """The kernel's code: the position of ``kernel`` in the table."""
        return _k.CODES[self.kernel.name]

    @property
    def n_slots(self):
        """Rows of per-parameter state the kernel keeps."""
        return 0

    def hyper(self):
        """The kernel's hyperparameter vector (float64): this optimizer's attributes named by
        ``kernel.settings``, in that order (flags as 0.0 or 1.0)."""
        return np.array([float(getattr(self, name)) for name in self.kernel.settings._fields])

    def initial_state(self, n_params, dtype):
        """The state rows before the first update (zeros unless the optimizer says otherwise)."""
        return np.zeros((self.n_slots, n_params), dtype=dtype)

    def schedule(self):
        """(schedule code, schedule spec) for the compiled loop."""
        rate = self.learning_rate
        if isinstance(rate, schedules_mod.Schedule):
            return rate.code, rate.spec()
        return schedules_mod.Constant.code, np.array([rate])

    def clipping(self):
        """(clip_norm, clip_value) for the compiled loop, 0.0 where switched off."""
        return self.clipnorm or 0.0, self.clipvalue or 0.0

    def settings(self, state):
        """The compiled loop's OptimizerSettings record, over ``state`` (its state rows)."""
        clip_norm, clip_value = self.clipping()
        return OptimizerSettings(self.code, self.hyper(), state, clip_norm, clip_value)

    def schedule_settings(self, steps_per_epoch):
        """The compiled loop's ScheduleSettings record (the rate, as it is now)."""
        code, spec = self.schedule()
        return ScheduleSettings(code, spec, self.decay, int(steps_per_epoch))

    def get_config(self):
        """A JSON-serialisable dict that ``optimizers.get`` turns back into this optimizer."""
        rate = self.learning_rate
        config = {"name": self.name,
                  "learning_rate": rate.get_config() if isinstance(rate, schedules_mod.Schedule)
                  else rate}
        config.update({key: getattr(self, key) for key in self.options})
        config.update(decay=self.decay, clipnorm=self.clipnorm, clipvalue=self.clipvalue)
        return config

    def step(self, params, grads, state, iteration, steps_per_epoch=1):
        """One update of ``params`` in place exactly as the training loop makes it: ``grads``
        clipped in place, the rate of update ``iteration`` (0-based), the fused step on
        ``state`` (from ``initial_state``). Returns the rate used."""
        params = _flat_buffer("params", params)
        if not (isinstance(grads, np.ndarray) and grads.dtype == params.dtype
                and grads.shape == params.shape and grads.flags.c_contiguous):
            raise ValueError("grads must be a contiguous array of the params' shape and dtype")
        if not (isinstance(state, np.ndarray) and state.dtype == params.dtype
                and state.shape == (self.n_slots, params.size) and state.flags.c_contiguous):
            raise ValueError(f"state must be a contiguous {params.dtype} array of shape "
                             f"{(self.n_slots, params.size)} (see initial_state)")
        iteration, steps_per_epoch = checked_step(iteration, steps_per_epoch, "iteration")
        return float(_k.apply_update(self.settings(state),
                                     self.schedule_settings(steps_per_epoch), params, grads,
                                     iteration, None))

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum and Nesterov's look-ahead
    (torch.optim.SGD with dampening 0):

    .. math::
        g_t = \nabla_t + \lambda w_{t-1},\quad
        b_t = \mu b_{t-1} + g_t,\quad
        w_t = w_{t-1} - \eta\,(g_t + \mu b_t \text{ if nesterov else } b_t)

    (no momentum: w_t = w_{t-1} - eta g_t). Defaults: learning_rate 0.01, momentum 0,
    nesterov False, weight_decay (lambda, L2) 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["sgd"], "sgd", 0.01
    options = ("momentum", "nesterov", "weight_decay")

    def __init__(self, learning_rate=None, momentum=0.0, nesterov=False, weight_decay=0.0, *,
                 lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.momentum = _unit("momentum", momentum)
        self.nesterov = flag("nesterov", nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    @property
    def n_slots(self):
        return 1 if self.momentum > 0 else 0



class Adagrad(Optimizer):
    r"""Adagrad (torch.optim.Adagrad):

    .. math::
        g_t = \nabla_t + \lambda w_{t-1},\quad s_t = s_{t-1} + g_t^2,\quad
        w_t = w_{t-1} - \eta\, g_t / (\sqrt{s_t} + \epsilon)

    with s_0 = initial_accumulator_value. Defaults (Keras's): learning_rate 0.001,
    initial_accumulator_value 0.1, epsilon 1e-7, weight_decay 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["adagrad"], "adagrad", 0.001
    n_slots = 1
    options = ("initial_accumulator_value", "epsilon", "weight_decay")

    def __init__(self, learning_rate=None, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=0.0, *, lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.initial_accumulator_value = _non_negative("initial_accumulator_value",
                                                       initial_accumulator_value)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.weight_decay = _non_negative("weight_decay", weight_decay)


    def initial_state(self, n_params, dtype):
        return np.full((1, n_params), self.initial_accumulator_value, dtype=dtype)


class Adadelta(Optimizer):
    r"""Adadelta (torch.optim.Adadelta):

    .. math::
        a_t = \rho a_{t-1} + (1-\rho) g_t^2,\quad
        \Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}}\, g_t,\quad
        u_t = \rho u_{t-1} + (1-\rho) \Delta_t^2,\quad
        w_t = w_{t-1} - \eta \Delta_t

    with g_t = grad + lambda w. Defaults: learning_rate 1.0, rho 0.95, epsilon 1e-6,
    weight_decay 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["adadelta"], "adadelta", 1.0
    n_slots = 2
    options = ("rho", "epsilon", "weight_decay")

    def __init__(self, learning_rate=None, rho=0.95, epsilon=1e-6, weight_decay=0.0, *,
                 lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.rho = _unit("rho", rho)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.weight_decay = _non_negative("weight_decay", weight_decay)




class RMSprop(Optimizer):
    r"""RMSprop (torch.optim.RMSprop; ``rho`` is torch's ``alpha``):

    .. math::
        a_t = \rho a_{t-1} + (1-\rho) g_t^2,\quad
        d_t = \sqrt{a_t - \bar g_t^2} + \epsilon \text{ (centered) or } \sqrt{a_t} + \epsilon,

        b_t = \mu b_{t-1} + g_t / d_t,\quad w_t = w_{t-1} - \eta b_t
        \quad(\text{no momentum: } w_t = w_{t-1} - \eta g_t / d_t)

    with \bar g_t = \rho \bar g_{t-1} + (1-\rho) g_t and g_t = grad + lambda w. Defaults
    (Keras's): learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False,
    weight_decay 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["rmsprop"], "rmsprop", 0.001
    options = ("rho", "momentum", "epsilon", "centered", "weight_decay")

    def __init__(self, learning_rate=None, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=0.0, *, lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.rho = _unit("rho", rho)
        self.momentum = _unit("momentum", momentum)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.centered = flag("centered", centered)
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    @property
    def n_slots(self):
        """E[g^2], then the momentum buffer if momentum > 0, then E[g] if centered."""
        return 1 + (self.momentum > 0) + self.centered



class Adam(Optimizer):
    r"""Adam with bias correction (torch.optim.Adam):

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \hat v_t = \max(\hat v_{t-1}, v_t) \text{ (amsgrad) or } v_t,

        w_t = w_{t-1} - \frac{\eta}{1-\beta_1^t}\,
              \frac{m_t}{\sqrt{\hat v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    with g_t = grad + lambda w (L2 weight decay; AdamW decouples it). Defaults (Keras's):
    learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7, amsgrad False, weight_decay 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["adam"], "adam", 0.001
    options = ("beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay")
    decoupled = False

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=0.0, *, lr=None, decay=0.0, clipnorm=None,
                 clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.amsgrad = flag("amsgrad", amsgrad)
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    @property
    def n_slots(self):
        """m, v, then max v if amsgrad."""
        return 3 if self.amsgrad else 2



class AdamW(Adam):
    r"""Adam with decoupled weight decay (torch.optim.AdamW, Loshchilov & Hutter): before the
    Adam step, w_{t-1} <- w_{t-1} (1 - eta lambda), and the gradient is not decayed.
    Defaults (Keras's): learning_rate 0.001, weight_decay 0.004, beta_1 0.9, beta_2 0.999,
    epsilon 1e-7, amsgrad False.
    """

    name = "adamw"
    decoupled = True

    def __init__(self, learning_rate=None, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, *, lr=None, decay=0.0, clipnorm=None,
                 clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, lr=lr,
                         decay=decay, clipnorm=clipnorm, clipvalue=clipvalue)


class Nadam(Optimizer):
    r"""Adam with Nesterov momentum (torch.optim.NAdam, Dozat), with its momentum schedule:

    .. math::
        \mu_t = \beta_1 (1 - \tfrac12 0.96^{t\psi}),\quad P_t = \prod_{s \le t} \mu_s,\quad
        m_t, v_t \text{ as Adam},\quad d_t = \sqrt{v_t / (1-\beta_2^t)} + \epsilon,

        w_t = w_{t-1} - \eta \frac{1-\mu_t}{1-P_t} \frac{g_t}{d_t}
                      - \eta \frac{\mu_{t+1}}{1-P_t \mu_{t+1}} \frac{m_t}{d_t}

    psi = ``momentum_decay``. Weight decay lambda is L2 (g_t = grad + lambda w) or, with
    ``decoupled_weight_decay``, w <- w (1 - eta lambda) first. Defaults: learning_rate 0.001,
    beta_1 0.9, beta_2 0.999, epsilon 1e-7, momentum_decay 0.004, weight_decay 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["nadam"], "nadam", 0.001
    n_slots = 3
    options = ("beta_1", "beta_2", "epsilon", "momentum_decay", "weight_decay",
               "decoupled_weight_decay")

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, weight_decay=0.0, decoupled_weight_decay=False, *,
                 lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.momentum_decay = _non_negative("momentum_decay", momentum_decay)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.decoupled_weight_decay = flag("decoupled_weight_decay", decoupled_weight_decay)


    def initial_state(self, n_params, dtype):
        """m = v = 0; the running product of mu starts at 1."""
        state = np.zeros((3, n_params), dtype=dtype)
        state[2] = 1.0
        return state


class Lion(Optimizer):
    r"""Lion, the sign-momentum optimizer found by program search (Chen et al. 2023, "Symbolic
    Discovery of Optimization Algorithms"):

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        w_t = w_{t-1} - \eta\,(\operatorname{sign}(c_t) + \lambda w_{t-1}),\quad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    Every step moves each weight by exactly the learning rate (or not at all), so the rate is
    usually 3-10x smaller than AdamW's. Defaults (the paper's): learning_rate 1e-4, beta_1 0.9,
    beta_2 0.99, weight_decay (lambda, decoupled) 0.
    """

    kernel, name, default_learning_rate = _k.BY_NAME["lion"], "lion", 1e-4
    n_slots = 1
    options = ("beta_1", "beta_2", "weight_decay")

    def __init__(self, learning_rate=None, beta_1=0.9, beta_2=0.99, weight_decay=0.0, *,
                 lr=None, decay=0.0, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, lr, decay, clipnorm, clipvalue)
        self.beta_1 = _unit("beta_1", beta_1)
        self.beta_2 = _unit("beta_2", beta_2)
        self.weight_decay = _non_negative("weight_decay", weight_decay)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, Nadam,
                                        Lion)}
# Names that stand for a setting of a class: "momentum" and "nesterov" are SGD with momentum 0.9.
PRESETS = {"momentum": (SGD, {"momentum": 0.9}),
           "nesterov": (SGD, {"momentum": 0.9, "nesterov": True})}


def get(spec):
    """An Optimizer from an instance, a name, or a config dict (from ``get_config``)."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, dict):
        config = dict(spec)
        if "name" not in config:
            raise ValueError(f"an optimizer config needs a 'name', got {spec!r}")
        return _from_name(config.pop("name"), config)
    return _from_name(spec, {})


def _from_name(name, kwargs):
    key = name.lower() if isinstance(name, str) else name
    if key in PRESETS:
        cls, preset = PRESETS[key]
        return cls(**{**preset, **kwargs})
    choice("optimizer", key if key in OPTIMIZERS else name, list(OPTIMIZERS) + list(PRESETS))
    return OPTIMIZERS[key](**kwargs)
