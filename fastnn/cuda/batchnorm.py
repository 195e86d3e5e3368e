"""Batch normalisation on the GPU, with the formulas of fastnn/kernels/batchnorm.py.

The ``scratch`` layout (mean, variance, 1/std, gamma/std: 4 n values of the activation
workspace) and the ``work`` layout (sum dy, sum dy xhat: 2 n values of the gradient workspace)
are the CPU's. Per-feature reductions run one thread per feature, summing the rows in order into
the scratch values, as the CPU loop does (deterministic, no atomics); the per-element passes run
one thread per element.
"""

from numba import cuda

from ..kernels import batchnorm as formulas
from ..kernels.batchnorm import CENTER, SCALE
from ..kernels.training import STAT_NONFINITE
from ._launch import device, element_of_thread, elements, grid

inverse_std = device(formulas.inverse_std)
normalized = device(formulas.normalized)
input_gradient = device(formulas.input_gradient)
running_mean = device(formulas.running_mean)
running_variance = device(formulas.running_variance)


@cuda.jit
def statistics_kernel(x, rows, params, p_off, scale, state, s_off, eps, training, scratch):
    """Feature j: the batch's mean and variance (training) or the running ones, then 1/std and
    gamma/std, into ``scratch``."""
    j = cuda.grid(1)
    n = x.shape[1]
    if j >= n:
        return
    if training:
        scratch[j] = 0.0
        scratch[n + j] = 0.0
        for i in range(rows):
            scratch[j] += x[i, j]
        scratch[j] = scratch[j] / rows
        for i in range(rows):
            d = x[i, j] - scratch[j]
            scratch[n + j] += d * d
        scratch[n + j] = scratch[n + j] / rows
    else:
        scratch[j] = state[s_off + j]
        scratch[n + j] = state[s_off + n + j]
    scratch[2 * n + j] = inverse_std(scratch[n + j], eps)
    scratch[3 * n + j] = params[p_off + j] * scratch[2 * n + j] if scale \
        else scratch[2 * n + j]


@cuda.jit
def normalize_kernel(x, rows, params, beta_off, center, scratch, y):
    """y_ij = (x_ij - mean_j) gamma_j / std_j + beta_j."""
    n = x.shape[1]
    i, j = element_of_thread(rows, n)
    if i < 0:
        return
    beta = params[beta_off + j] if center else 0.0
    y[i, j] = normalized(x[i, j], scratch[j], scratch[3 * n + j], beta)


@cuda.jit
def gradient_sums_kernel(x, dy, rows, grads, p_off, scale, center, beta_off, scratch, work):
    """Feature j: sum_i dy_ij and sum_i dy_ij xhat_ij into ``work``; dgamma, dbeta."""
    j = cuda.grid(1)
    n = x.shape[1]
    if j >= n:
        return
    work[j] = 0.0
    work[n + j] = 0.0
    for i in range(rows):
        xhat = (x[i, j] - scratch[j]) * scratch[2 * n + j]
        work[j] += dy[i, j]
        work[n + j] += dy[i, j] * xhat
    if scale:
        grads[p_off + j] = work[n + j]
    if center:
        grads[beta_off + j] = work[j]


@cuda.jit
def input_gradient_kernel(x, dy, rows, scratch, work, dx):
    """dx_ij = gamma_j / (B std_j) (B dy_ij - sum dy_j - xhat_ij sum (dy xhat)_j)."""
    n = x.shape[1]
    i, j = element_of_thread(rows, n)
    if i < 0:
        return
    dx[i, j] = input_gradient(x[i, j], dy[i, j], scratch[j], scratch[2 * n + j],
                              scratch[3 * n + j], rows, work[j], work[n + j])


@cuda.jit
def update_running_kernel(state, s_off, scratch, n, rows, momentum, stats):
    """Feature j: fold the batch statistics into the running ones (not after a halt)."""
    j = cuda.grid(1)
    if j >= n or stats[STAT_NONFINITE] != 0.0:
        return
    state[s_off + j] = running_mean(state[s_off + j], scratch[j], momentum)
    if rows > 1:
        state[s_off + n + j] = running_variance(state[s_off + n + j], scratch[n + j], momentum,
                                                rows)


def flags_of(flags):
    """(scale, center): whether gamma and beta exist, from the op's FLAGS bits."""
    scale, center = (flags & SCALE) != 0, (flags & CENTER) != 0
    return scale, center


def forward(x, rows, params, p_off, flags, state, s_off, eps, training, scratch, y):
    n = x.shape[1]
    scale, center = flags_of(flags)
    beta_off = p_off + n if scale else p_off
    statistics_kernel[grid(n)](x, rows, params, p_off, scale, state, s_off, eps, training,
                               scratch)
    normalize_kernel[elements(rows, n)](x, rows, params, beta_off, center, scratch, y)


def backward(x, dy, rows, grads, p_off, flags, scratch, work, dx):
    """dgamma, dbeta into ``grads`` (those that exist); dx when ``dx`` is not None."""
    n = x.shape[1]
    scale, center = flags_of(flags)
    beta_off = p_off + n if scale else p_off
    gradient_sums_kernel[grid(n)](x, dy, rows, grads, p_off, scale, center, beta_off, scratch,
                                  work)
    if dx is not None:
        input_gradient_kernel[elements(rows, n)](x, dy, rows, scratch, work, dx)


def update_running(state, s_off, scratch, n, rows, momentum, stats):
    update_running_kernel[grid(n)](state, s_off, scratch, n, rows, momentum, stats)
