"""CUDA twins of fastnn/kernels/optimizers.py: one fused update over the flat parameter buffer,
one thread per parameter, operation for operation as on the CPU (the formulas and the ``hyper``
and ``state`` layouts are in that file's docstring).

The CPU kernels first turn the hyperparameters and the step's rate into scalars of the
parameters' dtype (bias corrections and such computed in float64, then cast); here the host does
that (``*_scalars``, with NumPy scalars of the model's dtype) and passes them to the kernel as
arguments, so the per-element arithmetic runs in the same dtype with the same operands. Nadam's
coefficients depend on the running product of its momentum factors, kept on the device in state
row 2: a one-thread kernel computes them there first.

Every update is skipped once the run has halted on a non-finite loss (stats[STAT_NONFINITE] set
by fastnn/cuda/reductions.py), so the weights stay those from before the bad batch, as on the CPU.
"""

import math

import numpy as np
from numba import cuda

from ..kernels import optimizers as cpu
from ..kernels.training import STAT_NONFINITE
from ._launch import grid

# Length of the per-step scratch array (Nadam's three coefficients).
SCRATCH = 3


@cuda.jit
def sgd_kernel(params, grads, state, stats, momentum, nesterov, weight_decay, rate):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    g = grads[i] + weight_decay * params[i]
    if momentum != 0.0:
        b = momentum * state[0, i] + g
        state[0, i] = b
        g = g + momentum * b if nesterov else b
    params[i] -= rate * g


@cuda.jit
def adagrad_kernel(params, grads, state, stats, eps, weight_decay, rate):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    g = grads[i] + weight_decay * params[i]
    s = state[0, i] + g * g
    state[0, i] = s
    params[i] -= rate * (g / (math.sqrt(s) + eps))


@cuda.jit
def adadelta_kernel(params, grads, state, stats, rho, eps, weight_decay, one_minus_rho, rate):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    g = grads[i] + weight_decay * params[i]
    a = rho * state[0, i] + one_minus_rho * (g * g)
    state[0, i] = a
    d = math.sqrt(state[1, i] + eps) / math.sqrt(a + eps) * g
    state[1, i] = rho * state[1, i] + one_minus_rho * (d * d)
    params[i] -= rate * d


@cuda.jit
def rmsprop_kernel(params, grads, state, stats, rho, momentum, eps, centered, weight_decay,
                   one_minus_rho, rate, has_momentum, row_mean):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    g = grads[i] + weight_decay * params[i]
    a = rho * state[0, i] + one_minus_rho * (g * g)
    state[0, i] = a
    if centered:
        ga = state[row_mean, i]
        ga = ga + one_minus_rho * (g - ga)
        state[row_mean, i] = ga
        den = math.sqrt(a - ga * ga) + eps
    else:
        den = math.sqrt(a) + eps
    if has_momentum:
        b = momentum * state[1, i] + g / den
        state[1, i] = b
        params[i] -= rate * b
    else:
        params[i] -= rate * (g / den)


@cuda.jit
def adam_kernel(params, grads, state, stats, eps, amsgrad, weight_decay, shrink, one_minus_b1,
                b2, one_minus_b2, step_size, bc2_sqrt):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    w = params[i] * shrink
    g = grads[i] + weight_decay * w
    m = state[0, i]
    m = m + one_minus_b1 * (g - m)
    state[0, i] = m
    v = b2 * state[1, i] + one_minus_b2 * (g * g)
    state[1, i] = v
    if amsgrad:
        if state[2, i] > v:
            v = state[2, i]
        state[2, i] = v
    params[i] = w - step_size * (m / (math.sqrt(v) / bc2_sqrt + eps))


@cuda.jit
def nadam_coefficients(state, lr, mu_cast, mu, mu_next, coef):
    """One thread: coef = [-lr (1 - mu) / (1 - P), -lr mu' / (1 - P mu'), P], P = P_prev mu,
    stored in the parameters' dtype (state row 2 holds P_prev in every entry)."""
    product = state[2, 0] * mu_cast
    coef[0] = -lr * (1.0 - mu) / (1.0 - product)
    coef[1] = -lr * mu_next / (1.0 - product * mu_next)
    coef[2] = product


@cuda.jit
def nadam_kernel(params, grads, state, stats, coef, eps, weight_decay, shrink, one_minus_b1, b2,
                 one_minus_b2, bias_correction_2):
    i = cuda.grid(1)
    if i >= params.shape[0] or stats[STAT_NONFINITE] != 0.0:
        return
    w = params[i] * shrink
    g = grads[i] + weight_decay * w
    m = state[0, i]
    m = m + one_minus_b1 * (g - m)
    state[0, i] = m
    v = b2 * state[1, i] + one_minus_b2 * (g * g)
    state[1, i] = v
    state[2, i] = coef[2]
    den = math.sqrt(v / bias_correction_2) + eps
    w = w + coef[0] * (g / den)
    params[i] = w + coef[1] * (m / den)


def sgd_scalars(hyper, lr, t, cast):
    return cast(hyper[0]), hyper[1] != 0.0, cast(hyper[2]), cast(lr)


def adagrad_scalars(hyper, lr, t, cast):
    return cast(hyper[0]), cast(hyper[1]), cast(lr)


def adadelta_scalars(hyper, lr, t, cast):
    return cast(hyper[0]), cast(hyper[1]), cast(hyper[2]), cast(1.0 - hyper[0]), cast(lr)


def rmsprop_scalars(hyper, lr, t, cast):
    has_momentum = hyper[1] > 0.0
    return (cast(hyper[0]), cast(hyper[1]), cast(hyper[2]), hyper[3] != 0.0, cast(hyper[4]),
            cast(1.0 - hyper[0]), cast(lr), has_momentum, 2 if has_momentum else 1)


def adam_scalars(hyper, lr, t, cast):
    beta_1, beta_2 = float(hyper[0]), float(hyper[1])
    decoupled = hyper[5] != 0.0
    return (cast(hyper[2]), hyper[3] != 0.0, cast(0.0 if decoupled else hyper[4]),
            cast(1.0 - lr * hyper[4] if decoupled else 1.0), cast(1.0 - beta_1), cast(beta_2),
            cast(1.0 - beta_2), cast(lr / (1.0 - beta_1 ** t)),
            cast(math.sqrt(1.0 - beta_2 ** t)))


def nadam_scalars(hyper, lr, t, cast):
    beta_1, beta_2 = float(hyper[0]), float(hyper[1])
    decoupled = hyper[5] != 0.0
    return (cast(hyper[2]), cast(0.0 if decoupled else hyper[4]),
            cast(1.0 - lr * hyper[4] if decoupled else 1.0), cast(1.0 - beta_1), cast(beta_2),
            cast(1.0 - beta_2), cast(1.0 - beta_2 ** t))


def nadam_momentum(hyper, t):
    """mu_t of torch.optim.NAdam: b1 (1 - 0.5 * 0.96^(t psi))."""
    return float(hyper[0]) * (1.0 - 0.5 * 0.96 ** (t * float(hyper[3])))


def _launch(kernel, scalars):
    def update(hyper, params, grads, state, lr, t, stats, scratch):
        cast = params.dtype.type
        kernel[grid(params.shape[0])](params, grads, state, stats,
                                      *scalars(hyper, lr, t, cast))
    return update


def nadam(hyper, params, grads, state, lr, t, stats, scratch):
    if params.shape[0] == 0:
        return
    cast = params.dtype.type
    mu, mu_next = nadam_momentum(hyper, t), nadam_momentum(hyper, t + 1)
    nadam_coefficients[1, 1](state, np.float64(lr), cast(mu), np.float64(mu),
                             np.float64(mu_next), scratch)
    nadam_kernel[grid(params.shape[0])](params, grads, state, stats, scratch,
                                        *nadam_scalars(hyper, lr, t, cast))


# optimizer code -> update(hyper, params, grads, state, lr, t, stats, scratch), t 1-based
UPDATES = {
    cpu.SGD: _launch(sgd_kernel, sgd_scalars),
    cpu.ADAGRAD: _launch(adagrad_kernel, adagrad_scalars),
    cpu.ADADELTA: _launch(adadelta_kernel, adadelta_scalars),
    cpu.RMSPROP: _launch(rmsprop_kernel, rmsprop_scalars),
    cpu.ADAM: _launch(adam_kernel, adam_scalars),
    cpu.NADAM: nadam,
}


def check_supported(optimizer):
    if optimizer.code not in UPDATES:
        raise ValueError(f"the {optimizer.name!r} optimizer has no CUDA kernel yet; "
                         "use device='cpu'")


def scratch_for(params):
    """The small device array an update may use for per-step scalars (see ``optimizer_step``)."""
    return cuda.device_array(SCRATCH, dtype=params.dtype)


def optimizer_step(code, hyper, params, grads, state, lr, t, stats, scratch):
    """Apply one update of optimizer ``code`` (step ``t``, 1-based) in place on the device;
    ``scratch`` is a device array from ``scratch_for``, reused from step to step."""
    UPDATES[code](np.asarray(hyper, dtype=np.float64), params, grads, state, lr, t, stats,
                  scratch)
