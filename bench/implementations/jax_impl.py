"""JAX, two ways: a jitted train step called once per batch, and the whole epoch inside one
jitted ``lax.scan`` (the best case for a compiled framework).

Both keep the data on the device, permute it once per epoch (with a NumPy permutation, as
fastnn and PyTorch make theirs on the host), and fold the output activation into the loss.
The optimizers are written out here with PyTorch's formulas (what fastnn implements): Adam with
bias correction and epsilon added to the root, RMSprop v <- rho v + (1 - rho) g^2.
BatchNorm follows torch.nn.BatchNorm1d (the batch's biased variance normalises, the unbiased
one enters the running variance); dropout masks come from ``jax.random`` keyed on the step.
"""

import numpy as np

from ..workloads import BN_EPSILON, BN_MOMENTUM
from .base import Implementation, hidden_activation_layers, require


class _JaxNetwork:
    """The workload's network, loss and optimizer as pure JAX functions."""

    def __init__(self, workload, weights):
        self.jax = jax = require("jax")
        jnp = self.jnp = jax.numpy
        self.workload = workload
        self.layers = hidden_activation_layers(workload)
        params, bn_state, width, k = [], [], workload.d, 0
        for spec in self.layers:
            if spec[0] == "dense":
                params.append((jnp.asarray(weights[2 * k]), jnp.asarray(weights[2 * k + 1])))
                k += 1
                width = spec[1]
            elif spec[0] == "batchnorm":
                params.append((jnp.ones(width, jnp.float32), jnp.zeros(width, jnp.float32)))
                bn_state.append((jnp.zeros(width, jnp.float32), jnp.ones(width, jnp.float32)))
        opt_state = self.optimizer_init(params)
        key = jax.random.PRNGKey(workload.seed)
        self.carry = (params, opt_state, bn_state, jnp.zeros((), jnp.int32), key)
        self.predict_jit = jax.jit(self._probabilities)

    def apply(self, params, bn_state, x, train, key):
        """(logits, new BatchNorm state) of the batch x."""
        jax, jnp = self.jax, self.jnp
        acts = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}
        h, p, b, new_state = x, 0, 0, []
        for index, spec in enumerate(self.layers):
            kind = spec[0]
            if kind == "dense":
                weight, bias = params[p]
                p += 1
                h = h @ weight + bias
                if spec[2] != "linear":
                    h = acts[spec[2]](h)
            elif kind == "batchnorm":
                gamma, beta = params[p]
                mean_r, var_r = bn_state[b]
                p += 1
                b += 1
                if train:
                    rows = h.shape[0]
                    mean, var = h.mean(axis=0), h.var(axis=0)
                    m = BN_MOMENTUM
                    new_state.append((m * mean_r + (1 - m) * mean,
                                      m * var_r + (1 - m) * var * (rows / max(rows - 1, 1))))
                else:
                    mean, var = mean_r, var_r
                    new_state.append((mean_r, var_r))
                h = (h - mean) * jax.lax.rsqrt(var + BN_EPSILON) * gamma + beta
            elif kind == "activation":
                h = acts[spec[1]](h)
            elif kind == "dropout" and train:
                keep = 1.0 - spec[1]
                mask = jax.random.bernoulli(jax.random.fold_in(key, index), keep, h.shape)
                h = jnp.where(mask, h / keep, 0.0)
        return h, new_state

    def loss(self, params, bn_state, x, y, key):
        jax, jnp = self.jax, self.jnp
        z, new_state = self.apply(params, bn_state, x, True, key)
        if self.workload.loss == "bce":
            z = z[:, 0]
            value = jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))
        else:
            picked = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
            value = jnp.mean(jax.nn.logsumexp(z, axis=1) - picked)
        return value, new_state

    def optimizer_init(self, params):
        def zeros():
            return self.jax.tree_util.tree_map(self.jnp.zeros_like, params)

        name = self.workload.optimizer.name
        return () if name == "sgd" else (zeros(), zeros()) if name == "adam" else zeros()

    def optimizer_update(self, params, grads, state, t):
        """One update; ``t`` is the 1-based step number."""
        tree_map, jnp = self.jax.tree_util.tree_map, self.jnp
        opt = self.workload.optimizer
        lr, s = opt.lr, opt.settings
        if opt.name == "sgd":
            return tree_map(lambda w, g: w - lr * g, params, grads), state
        if opt.name == "adam":
            b1, b2, eps = s["beta_1"], s["beta_2"], s["epsilon"]
            m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state[0], grads)
            v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state[1], grads)
            tf = t.astype(jnp.float32)
            c1, c2 = 1 - b1 ** tf, 1 - b2 ** tf
            params = tree_map(lambda w, m, v: w - lr * (m / c1) / (jnp.sqrt(v / c2) + eps),
                              params, m, v)
            return params, (m, v)
        rho, eps = s["rho"], s["epsilon"]
        v = tree_map(lambda v, g: rho * v + (1 - rho) * g * g, state, grads)
        return tree_map(lambda w, g, v: w - lr * g / (jnp.sqrt(v) + eps), params, grads, v), v

    def step(self, carry, batch):
        """One training step: (carry, None) for ``lax.scan``."""
        params, opt_state, bn_state, t, key = carry
        x, y = batch
        step_key = self.jax.random.fold_in(key, t)
        grads, bn_state = self.jax.grad(self.loss, has_aux=True)(params, bn_state, x, y,
                                                                  step_key)
        params, opt_state = self.optimizer_update(params, grads, opt_state, t + 1)
        return (params, opt_state, bn_state, t + 1, key), None

    def _probabilities(self, params, bn_state, x):
        z, _ = self.apply(params, bn_state, x, False, None)
        if self.workload.loss == "bce":
            return self.jax.nn.sigmoid(z)
        return self.jax.nn.softmax(z, axis=1)


class _JaxImpl(Implementation):
    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        self.net = _JaxNetwork(workload, weights)
        jnp = self.net.jnp
        self.X = jnp.asarray(X)
        self.y = jnp.asarray(y.astype(np.int32) if workload.loss == "scce" else y)
        self.rng = np.random.default_rng(workload.seed)

    def order(self, shuffle):
        n = self.workload.n
        return (self.rng.permutation(n) if shuffle else np.arange(n)).astype(np.int32)

    def predict_proba(self, X):
        params, _, bn_state, _, _ = self.net.carry
        return np.asarray(self.net.predict_jit(params, bn_state, X))


class JaxScanImpl(_JaxImpl):
    name = "jax_scan"
    label = "JAX lax.scan epoch"

    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        self.epoch = self.net.jax.jit(self._epoch, donate_argnums=0)

    def _epoch(self, carry, X, y, perm):
        n, batch, step = self.workload.n, self.workload.batch, self.net.step
        X, y = X[perm], y[perm]
        full = (n // batch) * batch
        if full:
            xs = X[:full].reshape((n // batch, batch) + X.shape[1:])
            ys = y[:full].reshape((n // batch, batch) + y.shape[1:])
            carry, _ = self.net.jax.lax.scan(step, carry, (xs, ys))
        if full < n:
            carry, _ = step(carry, (X[full:], y[full:]))
        return carry

    def train_epoch(self, shuffle=True):
        self.net.carry = self.epoch(self.net.carry, self.X, self.y, self.order(shuffle))
        self.net.jax.block_until_ready(self.net.carry)


class JaxStepImpl(_JaxImpl):
    name = "jax_step"
    label = "JAX jitted step"

    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        jax = self.net.jax
        self.permute = jax.jit(lambda X, y, perm: (X[perm], y[perm]))
        self.step = jax.jit(self._step, static_argnums=4, donate_argnums=0)

    def _step(self, carry, X, y, start, size):
        dynamic_slice = self.net.jax.lax.dynamic_slice_in_dim
        batch = (dynamic_slice(X, start, size), dynamic_slice(y, start, size))
        return self.net.step(carry, batch)[0]

    def train_epoch(self, shuffle=True):
        n, batch = self.workload.n, self.workload.batch
        X, y = self.permute(self.X, self.y, self.order(shuffle))
        carry = self.net.carry
        for start in range(0, n, batch):
            carry = self.step(carry, X, y, start, min(batch, n - start))
        self.net.carry = carry
        self.net.jax.block_until_ready(carry)
