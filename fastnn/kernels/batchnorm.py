"""Batch normalisation over the rows of a batch, per feature j (Ioffe and Szegedy 2015).

Training, with B rows, batch mean mu_j and biased batch variance v_j = mean_i (x_ij - mu_j)^2:

    xhat_ij = (x_ij - mu_j) / sqrt(v_j + eps),   y_ij = gamma_j xhat_ij + beta_j
    backward dbeta_j = sum_i dy_ij,  dgamma_j = sum_i dy_ij xhat_ij,
             dx_ij = gamma_j / (B sqrt(v_j + eps)) (B dy_ij - dbeta_j - xhat_ij dgamma_j)
    running statistics, after the update (as torch.nn.BatchNorm1d with its momentum = 1 - m):
             mean_j <- m mean_j + (1 - m) mu_j
             var_j  <- m var_j + (1 - m) v_j B / (B - 1)   (the unbiased variance; skipped when
                                                             B = 1, where it is undefined)
Inference: y_ij = gamma_j (x_ij - mean_j) / sqrt(var_j + eps) + beta_j.

With B = 1 the batch variance is 0, so xhat = 0, y = beta and dx = 0: finite, no NaN.
``flags`` says which of gamma (SCALE) and beta (CENTER) exist; they are stored gamma first, then
beta, at ``p_off``. The running mean then the running variance are at ``s_off`` of the state.
``scratch`` (4 n values of the activation workspace) keeps mu, v, 1 / sqrt(v + eps) and
gamma / sqrt(v + eps) of the last forward for the backward pass; ``work`` (2 n values of the
gradient workspace) holds the backward's column sums.

The per-feature and per-element formulas below are the ones both backends use; the column sums
are reductions each backend does its own way (here over the rows in order, vectorised across
the features; with a batch's rows split between threads, each part sums its rows and the parts'
sums are added up: fastnn/kernels/share.py).
"""

import math

from ._jit import kernel
from .share import add_up, batch_rows
from .table import formula

CENTER, SCALE = 1, 2


@formula
def inverse_std(var, eps):
    return 1.0 / math.sqrt(var + eps)


@formula
def normalized(x, mean, mul, beta):
    """y = (x - mu) gamma / sqrt(v + eps) + beta, with mul = gamma / sqrt(v + eps)."""
    return (x - mean) * mul + beta


@formula
def input_gradient(x, dy, mean, inv_std, mul, rows, sum_dy, sum_dy_xhat):
    """dx = gamma / (B sqrt(v + eps)) (B dy - sum dy - xhat sum dy xhat)."""
    xhat = (x - mean) * inv_std
    return mul / rows * (rows * dy - sum_dy - xhat * sum_dy_xhat)


@formula
def running_mean(old, batch_mean, momentum):
    return momentum * old + (1.0 - momentum) * batch_mean


@formula
def running_variance(old, batch_variance, momentum, rows):
    """The running variance takes the unbiased batch variance (B > 1; callers skip B = 1)."""
    return momentum * old + (1.0 - momentum) * batch_variance * (rows / (rows - 1.0))


@kernel
def batchnorm_forward(x, params, p_off, flags, state, s_off, eps, training, scratch, y, share):
    """y from x; in training, with the statistics of the whole batch that ``share`` says x is
    (all of it, or some rows of it: fastnn/kernels/share.py)."""
    rows, n = x.shape
    batch = batch_rows(share, rows)
    scale = (flags & SCALE) != 0
    center = (flags & CENTER) != 0
    beta_off = p_off + n if scale else p_off
    mean = scratch[:n]
    var = scratch[n:2 * n]
    inv_std = scratch[2 * n:3 * n]
    mul = scratch[3 * n:4 * n]
    if training:
        for j in range(n):
            mean[j] = 0.0
            var[j] = 0.0
        for i in range(rows):
            for j in range(n):
                mean[j] += x[i, j]
        add_up(share, mean)
        for j in range(n):
            mean[j] = mean[j] / batch
        for i in range(rows):
            for j in range(n):
                d = x[i, j] - mean[j]
                var[j] += d * d
        add_up(share, var)
        for j in range(n):
            var[j] = var[j] / batch
    else:
        for j in range(n):
            mean[j] = state[s_off + j]
            var[j] = state[s_off + n + j]
    for j in range(n):
        inv_std[j] = inverse_std(var[j], eps)
        mul[j] = params[p_off + j] * inv_std[j] if scale else inv_std[j]
    for i in range(rows):
        for j in range(n):
            beta = params[beta_off + j] if center else 0.0
            y[i, j] = normalized(x[i, j], mean[j], mul[j], beta)


@kernel
def batchnorm_backward(x, dy, params, grads, p_off, flags, scratch, work, dx, need_dx, share):
    """dgamma, dbeta into ``grads`` (those that exist; over x's rows: a part of a batch leaves
    its share of them); dx when ``need_dx`` (from the sums over the whole batch)."""
    rows, n = x.shape
    batch = batch_rows(share, rows)
    scale = (flags & SCALE) != 0
    center = (flags & CENTER) != 0
    beta_off = p_off + n if scale else p_off
    mean = scratch[:n]
    inv_std = scratch[2 * n:3 * n]
    mul = scratch[3 * n:4 * n]
    sum_dy = work[:n]
    sum_dy_xhat = work[n:2 * n]
    for j in range(n):
        sum_dy[j] = 0.0
        sum_dy_xhat[j] = 0.0
    for i in range(rows):
        for j in range(n):
            xhat = (x[i, j] - mean[j]) * inv_std[j]
            sum_dy[j] += dy[i, j]
            sum_dy_xhat[j] += dy[i, j] * xhat
    for j in range(n):
        if scale:
            grads[p_off + j] = sum_dy_xhat[j]
        if center:
            grads[beta_off + j] = sum_dy[j]
    add_up(share, work[:2 * n])
    if need_dx:
        for i in range(rows):
            for j in range(n):
                dx[i, j] = input_gradient(x[i, j], dy[i, j], mean[j], inv_std[j], mul[j], batch,
                                           sum_dy[j], sum_dy_xhat[j])


@kernel
def batchnorm_update_running(state, s_off, scratch, rows, momentum):
    """Fold the last training forward's batch statistics into the running statistics."""
    n = scratch.shape[0] // 4
    for j in range(n):
        state[s_off + j] = running_mean(state[s_off + j], scratch[j], momentum)
    if rows > 1:
        for j in range(n):
            state[s_off + n + j] = running_variance(state[s_off + n + j], scratch[n + j],
                                                     momentum, rows)
