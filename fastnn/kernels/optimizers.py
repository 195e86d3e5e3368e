"""Optimizers: each one's update, written once, and the table both backends run it from.

Each update follows the single-tensor code path of the torch.optim class named below, operation
for operation (Lion: the published rule). An optimizer is three things in the table:

    settings      the names of its hyperparameters: the ``hyper`` vector (float64, flags 0 or 1)
                  holds them in this order (its class in fastnn.optimizers builds it from the
                  same names) and the formulas read it through these names
    coefficients  (hyper, lr, t, cast, state, i) -> the step's scalars, a namedtuple, computed
                  once per step (per thread on the GPU) in float64 then cast to the parameters'
                  dtype with ``cast``; ``lr`` is this step's rate, ``t`` the 1-based step number
    update        (params, grads, state, i, c) updates parameter i and its state column in place

``state`` has one row per state slot, each row as long as the parameters. g = grad + wd * w
unless the decay is decoupled.

    sgd       momentum, nesterov, weight_decay                 [buffer if momentum]
    adagrad   epsilon, weight_decay                            sum of g^2
    adadelta  rho, epsilon, weight_decay                       E[g^2], E[dw^2]
    rmsprop   rho, momentum, epsilon, centered, weight_decay   E[g^2], [buffer], [E[g]]
    adam      beta_1, beta_2, epsilon, amsgrad, weight_decay, decoupled      m, v, [max v]
    nadam     beta_1, beta_2, epsilon, momentum_decay, weight_decay, decoupled_weight_decay
                                                               m, v, mu product (equal entries)
    lion      beta_1, beta_2, weight_decay                     m

The per-element arithmetic runs in the parameters' dtype (float32 models update in float32, as
PyTorch does); the step's scalars such as bias corrections are computed in float64 first.
"""

import math
from collections import namedtuple
from typing import Callable, NamedTuple

from ._jit import kernel
from .clipping import step_clipping
from .schedules import learning_rate
from .table import formula, layout, switch


class Optimizer(NamedTuple):
    name: str
    settings: tuple      # a layout: the hyperparameters' names, in the hyper vector's order
    coefficients: Callable
    update: Callable


@formula
def sign(x):
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


# ----------------------------------------------------------------------- SGD
SGD_SETTINGS = layout("momentum", "nesterov", "weight_decay")
SGDStep = namedtuple("SGDStep", "momentum nesterov weight_decay rate")


@formula
def sgd_coefficients(hyper, lr, t, cast, state, i):
    h = SGD_SETTINGS
    return SGDStep(cast(hyper[h.momentum]), hyper[h.nesterov] != 0.0,
                   cast(hyper[h.weight_decay]), cast(lr))


@formula
def sgd_update(params, grads, state, i, c):
    """torch.optim.SGD (dampening 0): b = mu b + g; g = g + mu b (nesterov) or b; w -= lr g."""
    g = grads[i] + c.weight_decay * params[i]
    if c.momentum != 0.0:
        b = c.momentum * state[0, i] + g
        state[0, i] = b
        g = g + c.momentum * b if c.nesterov else b
    params[i] -= c.rate * g


# ----------------------------------------------------------------------- Adagrad
ADAGRAD_SETTINGS = layout("epsilon", "weight_decay")
AdagradStep = namedtuple("AdagradStep", "epsilon weight_decay rate")


@formula
def adagrad_coefficients(hyper, lr, t, cast, state, i):
    h = ADAGRAD_SETTINGS
    return AdagradStep(cast(hyper[h.epsilon]), cast(hyper[h.weight_decay]), cast(lr))


@formula
def adagrad_update(params, grads, state, i, c):
    """torch.optim.Adagrad: s += g^2; w -= lr * g / (sqrt(s) + eps)."""
    g = grads[i] + c.weight_decay * params[i]
    s = state[0, i] + g * g
    state[0, i] = s
    params[i] -= c.rate * (g / (math.sqrt(s) + c.epsilon))


# ----------------------------------------------------------------------- Adadelta
ADADELTA_SETTINGS = layout("rho", "epsilon", "weight_decay")
AdadeltaStep = namedtuple("AdadeltaStep", "rho epsilon weight_decay one_minus_rho rate")


@formula
def adadelta_coefficients(hyper, lr, t, cast, state, i):
    h = ADADELTA_SETTINGS
    return AdadeltaStep(cast(hyper[h.rho]), cast(hyper[h.epsilon]), cast(hyper[h.weight_decay]),
                        cast(1.0 - hyper[h.rho]), cast(lr))


@formula
def adadelta_update(params, grads, state, i, c):
    """torch.optim.Adadelta: a = rho a + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(a + eps) * g;
    u = rho u + (1 - rho) d^2; w -= lr d."""
    g = grads[i] + c.weight_decay * params[i]
    a = c.rho * state[0, i] + c.one_minus_rho * (g * g)
    state[0, i] = a
    d = math.sqrt(state[1, i] + c.epsilon) / math.sqrt(a + c.epsilon) * g
    state[1, i] = c.rho * state[1, i] + c.one_minus_rho * (d * d)
    params[i] -= c.rate * d


# ----------------------------------------------------------------------- RMSprop
RMSPROP_SETTINGS = layout("rho", "momentum", "epsilon", "centered", "weight_decay")
RMSpropStep = namedtuple("RMSpropStep", "rho momentum epsilon centered weight_decay "
                                        "one_minus_rho rate has_momentum mean_row")


@formula
def rmsprop_coefficients(hyper, lr, t, cast, state, i):
    h = RMSPROP_SETTINGS
    has_momentum = hyper[h.momentum] > 0.0
    return RMSpropStep(cast(hyper[h.rho]), cast(hyper[h.momentum]), cast(hyper[h.epsilon]),
                       hyper[h.centered] != 0.0, cast(hyper[h.weight_decay]),
                       cast(1.0 - hyper[h.rho]), cast(lr), has_momentum,
                       2 if has_momentum else 1)


@formula
def rmsprop_update(params, grads, state, i, c):
    """torch.optim.RMSprop (rho is torch's alpha): a = rho a + (1 - rho) g^2; centered:
    ga = ga + (1 - rho) (g - ga), den = sqrt(a - ga^2) + eps, else den = sqrt(a) + eps;
    momentum: b = mu b + g / den, w -= lr b; else w -= lr g / den."""
    g = grads[i] + c.weight_decay * params[i]
    a = c.rho * state[0, i] + c.one_minus_rho * (g * g)
    state[0, i] = a
    if c.centered:
        ga = state[c.mean_row, i]
        ga = ga + c.one_minus_rho * (g - ga)
        state[c.mean_row, i] = ga
        den = math.sqrt(a - ga * ga) + c.epsilon
    else:
        den = math.sqrt(a) + c.epsilon
    if c.has_momentum:
        b = c.momentum * state[1, i] + g / den
        state[1, i] = b
        params[i] -= c.rate * b
    else:
        params[i] -= c.rate * (g / den)


# ----------------------------------------------------------------------- Adam, AdamW
ADAM_SETTINGS = layout("beta_1", "beta_2", "epsilon", "amsgrad", "weight_decay", "decoupled")
AdamStep = namedtuple("AdamStep", "epsilon amsgrad weight_decay shrink one_minus_b1 b2 "
                                  "one_minus_b2 step_size bc2_sqrt")


@formula
def decay_terms(weight_decay, decoupled, lr):
    """(wd in g = grad + wd w, shrink in w *= shrink): (wd, 1) for L2 decay, (0, 1 - lr wd) for
    decoupled decay (AdamW)."""
    if decoupled:
        return 0.0, 1.0 - lr * weight_decay
    return weight_decay, 1.0


@formula
def adam_moments(params, grads, state, i, c):
    """The moment updates Adam and NAdam share: w = shrink w; g = grad + wd w;
    m = m + (1 - b1) (g - m); v = b2 v + (1 - b2) g^2, stored in state rows 0 and 1; returns
    (w, g, m, v). ``c`` has the fields shrink, weight_decay, one_minus_b1, b2, one_minus_b2."""
    w = params[i] * c.shrink
    g = grads[i] + c.weight_decay * w
    m = state[0, i]
    m = m + c.one_minus_b1 * (g - m)
    state[0, i] = m
    v = c.b2 * state[1, i] + c.one_minus_b2 * (g * g)
    state[1, i] = v
    return w, g, m, v


@formula
def adam_coefficients(hyper, lr, t, cast, state, i):
    h = ADAM_SETTINGS
    beta_1, beta_2 = hyper[h.beta_1], hyper[h.beta_2]
    weight_decay, shrink = decay_terms(hyper[h.weight_decay], hyper[h.decoupled] != 0.0, lr)
    return AdamStep(cast(hyper[h.epsilon]), hyper[h.amsgrad] != 0.0, cast(weight_decay),
                    cast(shrink), cast(1.0 - beta_1), cast(beta_2), cast(1.0 - beta_2),
                    cast(lr / (1.0 - beta_1 ** t)), cast(math.sqrt(1.0 - beta_2 ** t)))


@formula
def adam_update(params, grads, state, i, c):
    """torch.optim.Adam / AdamW: decoupled decay w *= 1 - lr wd; m = m + (1 - b1) (g - m);
    v = b2 v + (1 - b2) g^2; amsgrad: vmax = max(vmax, v) replaces v below;
    w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    w, g, m, v = adam_moments(params, grads, state, i, c)
    if c.amsgrad:
        if state[2, i] > v:
            v = state[2, i]
        state[2, i] = v
    params[i] = w - c.step_size * (m / (math.sqrt(v) / c.bc2_sqrt + c.epsilon))


# ----------------------------------------------------------------------- NAdam
NADAM_SETTINGS = layout("beta_1", "beta_2", "epsilon", "momentum_decay", "weight_decay",
                        "decoupled_weight_decay")
NadamStep = namedtuple("NadamStep", "epsilon weight_decay shrink one_minus_b1 b2 one_minus_b2 "
                                    "bias_correction_2 product coef_g coef_m")


@formula
def nadam_coefficients(hyper, lr, t, cast, state, i):
    """mu_t = b1 (1 - 0.5 * 0.96^(t psi)) (psi the momentum decay); P_t = P_(t-1) mu_t, from
    state row 2 (whose entries all hold P_(t-1))."""
    h = NADAM_SETTINGS
    beta_1, beta_2, psi = hyper[h.beta_1], hyper[h.beta_2], hyper[h.momentum_decay]
    weight_decay, shrink = decay_terms(hyper[h.weight_decay],
                                       hyper[h.decoupled_weight_decay] != 0.0, lr)
    mu = beta_1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    product = state[2, i] * cast(mu)
    return NadamStep(cast(hyper[h.epsilon]), cast(weight_decay), cast(shrink),
                     cast(1.0 - beta_1), cast(beta_2), cast(1.0 - beta_2),
                     cast(1.0 - beta_2 ** t), product,
                     cast(-lr * (1.0 - mu) / (1.0 - product)),
                     cast(-lr * mu_next / (1.0 - product * mu_next)))


@formula
def nadam_update(params, grads, state, i, c):
    """torch.optim.NAdam: m, v as Adam; den = sqrt(v / (1 - b2^t)) + eps;
    w -= lr (1 - mu_t) / (1 - P_t) g / den + lr mu_(t+1) / (1 - P_t mu_(t+1)) m / den."""
    w, g, m, v = adam_moments(params, grads, state, i, c)
    state[2, i] = c.product
    den = math.sqrt(v / c.bias_correction_2) + c.epsilon
    w = w + c.coef_g * (g / den)
    params[i] = w + c.coef_m * (m / den)


# ----------------------------------------------------------------------- Lion
LION_SETTINGS = layout("beta_1", "beta_2", "weight_decay")
LionStep = namedtuple("LionStep", "b1 one_minus_b1 b2 one_minus_b2 weight_decay rate")


@formula
def lion_coefficients(hyper, lr, t, cast, state, i):
    h = LION_SETTINGS
    return LionStep(cast(hyper[h.beta_1]), cast(1.0 - hyper[h.beta_1]), cast(hyper[h.beta_2]),
                    cast(1.0 - hyper[h.beta_2]), cast(hyper[h.weight_decay]), cast(lr))


@formula
def lion_update(params, grads, state, i, c):
    """Lion (Chen et al. 2023): c = b1 m + (1 - b1) g; w -= lr (sign(c) + wd w);
    m = b2 m + (1 - b2) g."""
    g = grads[i]
    m = state[0, i]
    w = params[i]
    direction = sign(c.b1 * m + c.one_minus_b1 * g)
    params[i] = w - c.rate * (direction + c.weight_decay * w)
    state[0, i] = c.b2 * m + c.one_minus_b2 * g


OPTIMIZERS = (
    Optimizer("sgd", SGD_SETTINGS, sgd_coefficients, sgd_update),
    Optimizer("adagrad", ADAGRAD_SETTINGS, adagrad_coefficients, adagrad_update),
    Optimizer("adadelta", ADADELTA_SETTINGS, adadelta_coefficients, adadelta_update),
    Optimizer("rmsprop", RMSPROP_SETTINGS, rmsprop_coefficients, rmsprop_update),
    Optimizer("adam", ADAM_SETTINGS, adam_coefficients, adam_update),
    Optimizer("nadam", NADAM_SETTINGS, nadam_coefficients, nadam_update),
    Optimizer("lion", LION_SETTINGS, lion_coefficients, lion_update),
)
CODES = {entry.name: code for code, entry in enumerate(OPTIMIZERS)}
BY_NAME = {entry.name: entry for entry in OPTIMIZERS}


# ----------------------------------------------------------------------- the CPU kernels
def _update_loop(entry):
    coefficients, update = entry.coefficients, entry.update

    def loop(params, grads, state, hyper, lr, t):
        n = params.shape[0]
        if n == 0:
            return
        c = coefficients(hyper, lr, t, params.dtype.type, state, 0)
        for i in range(n):
            update(params, grads, state, i, c)
    return loop


_update_cases = switch([(code, _update_loop(entry)) for code, entry in enumerate(OPTIMIZERS)],
                       "optimizer")


@kernel
def optimizer_step(code, hyper, params, grads, state, lr, t, kinds=None):
    """Apply one update of optimizer ``code`` in place (``t`` is 1-based). ``kinds``: the table
    entries compiled (fastnn/kernels/kinds.py)."""
    _update_cases(kinds, code, params, grads, state, hyper, lr, t)


@kernel
def apply_update(optimizer, schedule, params, grads, t, kinds=None):
    """Update ``t`` (0-based count of the updates before it) as the training loop makes it:
    clip ``grads`` in place, take the rate from the schedule and the time-based decay, apply
    the optimizer. ``optimizer`` and ``schedule`` are the OptimizerSettings and
    ScheduleSettings records of fastnn/kernels/training.py. Returns the rate used."""
    step_clipping(grads, optimizer.clip_norm, optimizer.clip_value, kinds)
    lr = learning_rate(schedule.code, schedule.spec, schedule.decay, t, schedule.steps_per_epoch,
                       kinds)
    optimizer_step(optimizer.code, optimizer.hyper, params, grads, optimizer.state, lr, t + 1,
                   kinds)
    return lr
