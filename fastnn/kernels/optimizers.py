"""Optimizer kernels: one fused update over the whole flat parameter buffer per step.

``hyper`` holds the optimizer's hyperparameters (its class in fastnn.optimizers says which slot is
which), ``state`` its per-parameter state, one row per slot, each as long as the parameters.
``lr`` is the learning rate for this step (after any schedule), ``t`` the 1-based step number.

    sgd     w <- w - lr g
"""

from ._jit import kernel

SGD = 0


@kernel
def sgd_step(params, grads, lr):
    for i in range(params.shape[0]):
        params[i] -= lr * grads[i]


@kernel
def optimizer_step(code, hyper, params, grads, state, lr, t):
    """Apply one update of optimizer ``code`` in place."""
    if code == SGD:
        sgd_step(params, grads, lr)
