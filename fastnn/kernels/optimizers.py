"""Optimizer kernels: one fused update over the whole flat parameter buffer per step.

Each kernel follows the single-tensor code path of the torch.optim class named below, operation
for operation. ``hyper`` holds the optimizer's hyperparameters (written by its class in
fastnn.optimizers; flags are 0.0 or 1.0), ``state`` its per-parameter state, one row per slot,
each row as long as the parameters. ``lr`` is this step's rate (after schedule and decay), ``t``
the 1-based step number. g = grad + weight_decay * w unless the decay is decoupled.

    code      hyper                                          state rows
    SGD       momentum, nesterov, weight_decay               [buffer if momentum]
    ADAGRAD   epsilon, weight_decay                          sum of g^2
    ADADELTA  rho, epsilon, weight_decay                     E[g^2], E[dw^2]
    RMSPROP   rho, momentum, epsilon, centered, weight_decay E[g^2], [buffer], [E[g]]
    ADAM      beta_1, beta_2, epsilon, amsgrad, weight_decay, decoupled   m, v, [max v]
    NADAM     beta_1, beta_2, epsilon, momentum_decay, weight_decay, decoupled   m, v, mu product

The per-element arithmetic runs in the parameters' dtype (float32 models update in float32, as
PyTorch does); per-step scalars such as bias corrections are computed in float64 first.

Fast-math: the default flags (kernels/_jit.py, with 'arcp' and 'afn') cost no precision that
matters here: over tests/test_optimizers.py's 20 float64 steps the worst relative difference
from torch.optim was 8e-14 (3e-14 with only 'contract' and 'nsz', which ran no faster; the
test asks 1e-10), so these kernels keep the defaults.
"""

import math

from ._jit import kernel
from .clipping import clip_gradients
from .schedules import learning_rate

SGD, ADAGRAD, ADADELTA, RMSPROP, ADAM, NADAM = range(6)


@kernel
def sgd_step(params, grads, state, hyper, lr, t):
    """torch.optim.SGD (dampening 0): b = mu b + g; g = g + mu b (nesterov) or b; w -= lr g."""
    cast = params.dtype.type
    momentum, nesterov, weight_decay = cast(hyper[0]), hyper[1] != 0.0, cast(hyper[2])
    rate = cast(lr)
    for i in range(params.shape[0]):
        g = grads[i] + weight_decay * params[i]
        if momentum != 0.0:
            b = momentum * state[0, i] + g
            state[0, i] = b
            g = g + momentum * b if nesterov else b
        params[i] -= rate * g


@kernel
def adagrad_step(params, grads, state, hyper, lr, t):
    """torch.optim.Adagrad: s += g^2; w -= lr * g / (sqrt(s) + eps)."""
    cast = params.dtype.type
    eps, weight_decay, rate = cast(hyper[0]), cast(hyper[1]), cast(lr)
    for i in range(params.shape[0]):
        g = grads[i] + weight_decay * params[i]
        s = state[0, i] + g * g
        state[0, i] = s
        params[i] -= rate * (g / (math.sqrt(s) + eps))


@kernel
def adadelta_step(params, grads, state, hyper, lr, t):
    """torch.optim.Adadelta: a = rho a + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(a + eps) * g;
    u = rho u + (1 - rho) d^2; w -= lr d."""
    cast = params.dtype.type
    rho, eps, weight_decay = cast(hyper[0]), cast(hyper[1]), cast(hyper[2])
    one_minus_rho, rate = cast(1.0 - hyper[0]), cast(lr)
    for i in range(params.shape[0]):
        g = grads[i] + weight_decay * params[i]
        a = rho * state[0, i] + one_minus_rho * (g * g)
        state[0, i] = a
        d = math.sqrt(state[1, i] + eps) / math.sqrt(a + eps) * g
        state[1, i] = rho * state[1, i] + one_minus_rho * (d * d)
        params[i] -= rate * d


@kernel
def rmsprop_step(params, grads, state, hyper, lr, t):
    """torch.optim.RMSprop (rho is torch's alpha): a = rho a + (1 - rho) g^2; centered:
    ga = ga + (1 - rho) (g - ga), den = sqrt(a - ga^2) + eps, else den = sqrt(a) + eps;
    momentum: b = mu b + g / den, w -= lr b; else w -= lr g / den."""
    cast = params.dtype.type
    rho, momentum, eps = cast(hyper[0]), cast(hyper[1]), cast(hyper[2])
    centered, weight_decay = hyper[3] != 0.0, cast(hyper[4])
    one_minus_rho, rate = cast(1.0 - hyper[0]), cast(lr)
    has_momentum = hyper[1] > 0.0
    row_mean = 2 if has_momentum else 1
    for i in range(params.shape[0]):
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


@kernel
def adam_step(params, grads, state, hyper, lr, t):
    """torch.optim.Adam / AdamW: decoupled decay w *= 1 - lr wd; m = m + (1 - b1) (g - m);
    v = b2 v + (1 - b2) g^2; amsgrad: vmax = max(vmax, v) replaces v below;
    w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    cast = params.dtype.type
    beta_1, beta_2, eps, amsgrad = hyper[0], hyper[1], cast(hyper[2]), hyper[3] != 0.0
    decoupled = hyper[5] != 0.0
    weight_decay = cast(0.0 if decoupled else hyper[4])
    shrink = cast(1.0 - lr * hyper[4] if decoupled else 1.0)
    one_minus_b1, b2, one_minus_b2 = cast(1.0 - beta_1), cast(beta_2), cast(1.0 - beta_2)
    step_size = cast(lr / (1.0 - beta_1 ** t))
    bc2_sqrt = cast(math.sqrt(1.0 - beta_2 ** t))
    for i in range(params.shape[0]):
        w = params[i] * shrink
        g = grads[i] + weight_decay * w
        m = state[0, i]
        m = m + one_minus_b1 * (g - m)
        state[0, i] = m
        v = b2 * state[1, i] + one_minus_b2 * (g * g)
        state[1, i] = v
        if amsgrad:
            v = max(state[2, i], v)
            state[2, i] = v
        params[i] = w - step_size * (m / (math.sqrt(v) / bc2_sqrt + eps))


@kernel
def nadam_step(params, grads, state, hyper, lr, t):
    """torch.optim.NAdam: mu_t = b1 (1 - 0.5 * 0.96^(t psi)) (psi the momentum decay),
    P_t = P_(t-1) mu_t (state row 2, all entries equal); m, v as Adam;
    den = sqrt(v / (1 - b2^t)) + eps;
    w -= lr (1 - mu_t) / (1 - P_t) g / den + lr mu_(t+1) / (1 - P_t mu_(t+1)) m / den."""
    n = params.shape[0]
    if n == 0:
        return
    cast = params.dtype.type
    beta_1, beta_2, eps, psi = hyper[0], hyper[1], cast(hyper[2]), hyper[3]
    decoupled = hyper[5] != 0.0
    weight_decay = cast(0.0 if decoupled else hyper[4])
    shrink = cast(1.0 - lr * hyper[4] if decoupled else 1.0)
    one_minus_b1, b2, one_minus_b2 = cast(1.0 - beta_1), cast(beta_2), cast(1.0 - beta_2)
    bias_correction_2 = cast(1.0 - beta_2 ** t)
    mu = beta_1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    product = state[2, 0] * cast(mu)
    coef_g = cast(-lr * (1.0 - mu) / (1.0 - product))
    coef_m = cast(-lr * mu_next / (1.0 - product * mu_next))
    for i in range(n):
        w = params[i] * shrink
        g = grads[i] + weight_decay * w
        m = state[0, i]
        m = m + one_minus_b1 * (g - m)
        state[0, i] = m
        v = b2 * state[1, i] + one_minus_b2 * (g * g)
        state[1, i] = v
        state[2, i] = product
        den = math.sqrt(v / bias_correction_2) + eps
        w = w + coef_g * (g / den)
        params[i] = w + coef_m * (m / den)


@kernel
def optimizer_step(code, hyper, params, grads, state, lr, t):
    """Apply one update of optimizer ``code`` in place (``t`` is 1-based)."""
    if code == SGD:
        sgd_step(params, grads, state, hyper, lr, t)
    elif code == ADAGRAD:
        adagrad_step(params, grads, state, hyper, lr, t)
    elif code == ADADELTA:
        adadelta_step(params, grads, state, hyper, lr, t)
    elif code == RMSPROP:
        rmsprop_step(params, grads, state, hyper, lr, t)
    elif code == ADAM:
        adam_step(params, grads, state, hyper, lr, t)
    elif code == NADAM:
        nadam_step(params, grads, state, hyper, lr, t)


@kernel
def apply_update(code, hyper, params, grads, state, sched_code, sched_spec, decay,
                 steps_per_epoch, clip_norm, clip_value, t):
    """Update ``t`` (0-based count of the updates before it) as the training loop makes it:
    clip ``grads`` in place, take the rate from the schedule and the time-based decay, apply
    optimizer ``code``. Returns the rate used."""
    clip_gradients(grads, clip_norm, clip_value)
    lr = learning_rate(sched_code, sched_spec, decay, t, steps_per_epoch)
    optimizer_step(code, hyper, params, grads, state, lr, t + 1)
    return lr
