"""Is a training loop compiled for one architecture faster than fastnn's generic op-table loop?

B1's network (16-32(tanh)-32(tanh)-1(sigmoid), binary cross-entropy, batch 1, SGD) written out
with its widths and parameter offsets as compile-time constants (``specialised_epoch``), so the
compiler sees every loop's trip count, against ``fit`` of the same model (the generic loop
over the op table). Both train from the same weights; ``measure`` checks that one epoch in row
order ends at the same weights (float32 rounding apart), then times shuffled epochs of each,
alternating, in one process on one thread.

    python -m bench.specialised [--scale quick|full|tiny] [--rounds N]
"""

import argparse
import math
import time

import numba
import numpy as np

from fastnn.kernels.activations import tanh_of

from . import workloads as wl

# fastnn's fast-math flags (fastnn/kernels/_jit.py): the same code generation as its kernels.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}
D, H1, H2 = 16, 32, 32
W0 = 0
B0 = W0 + D * H1
W1 = B0 + H1
B1 = W1 + H1 * H2
W2 = B1 + H2
B2 = W2 + H2
N_PARAMS = B2 + 1


@numba.njit(fastmath=FASTMATH, error_model="numpy")
def specialised_epoch(X, Y, order, params, grads, a0, a1, delta, lr, stats):
    """One epoch of B1 in batches of one row, in ``order``: stats[0] += BCE loss, stats[1] +=
    correct predictions. ``a0``, ``a1`` (32 each) and ``delta`` (64) are workspaces."""
    one = np.float32(1.0)
    eps = np.float32(1e-7)
    for r in range(order.shape[0]):
        x = X[order[r]]
        y = Y[order[r], 0]
        for j in range(H1):
            a0[j] = params[B0 + j]
        for i in range(D):
            for j in range(H1):
                a0[j] += x[i] * params[W0 + i * H1 + j]
        for j in range(H1):
            a0[j] = tanh_of(a0[j])
        for j in range(H2):
            a1[j] = params[B1 + j]
        for i in range(H1):
            for j in range(H2):
                a1[j] += a0[i] * params[W1 + i * H2 + j]
        for j in range(H2):
            a1[j] = tanh_of(a1[j])
        z = params[B2]
        for i in range(H2):
            z += a1[i] * params[W2 + i]
        p = one / (one + math.exp(-z))
        clipped = min(max(p, eps), one - eps)
        stats[0] += -(y * math.log(clipped) + (1.0 - y) * math.log(1.0 - clipped))
        stats[1] += (p > 0.5) == (y > 0.5)
        dz = p - y
        grads[B2] = dz
        for i in range(H2):
            grads[W2 + i] = a1[i] * dz
            delta[i] = params[W2 + i] * dz * (one - a1[i] * a1[i])
        for j in range(H2):
            grads[B1 + j] = delta[j]
        for i in range(H1):
            total = np.float32(0.0)
            for j in range(H2):
                grads[W1 + i * H2 + j] = a0[i] * delta[j]
                total += params[W1 + i * H2 + j] * delta[j]
            delta[H2 + i] = total * (one - a0[i] * a0[i])
        for j in range(H1):
            grads[B0 + j] = delta[H2 + j]
        for i in range(D):
            for j in range(H1):
                grads[W0 + i * H1 + j] = x[i] * delta[H2 + j]
        for k in range(N_PARAMS):
            params[k] -= lr * grads[k]


class Specialised:
    """B1's model trained by ``specialised_epoch`` from the given flat parameters."""

    def __init__(self, X, y, params, lr):
        self.X = np.ascontiguousarray(X, dtype=np.float32)
        self.Y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
        self.params, self.grads = params.copy(), np.zeros_like(params)
        self.a0, self.a1 = np.zeros(H1, np.float32), np.zeros(H2, np.float32)
        self.delta = np.zeros(H1 + H2, np.float32)
        self.lr, self.stats = np.float32(lr), np.zeros(2)
        self.rng = np.random.default_rng(0)

    def train_epoch(self, shuffle=True):
        n = self.X.shape[0]
        order = self.rng.permutation(n) if shuffle else np.arange(n)
        specialised_epoch(self.X, self.Y, order.astype(np.int64), self.params, self.grads,
                          self.a0, self.a1, self.delta, self.lr, self.stats)


def measure(scale="quick", rounds=15):
    """{"compile_s", "max_abs_diff", "generic_us", "specialised_us"}: the specialised loop's
    compile time, its weights' largest difference from fastnn's after one epoch in row order,
    and both loops' median microseconds per step."""
    import fastnn as fn

    from .implementations.fastnn_impl import FastnnImpl

    workload = wl.at_scale(wl.B1, scale)
    X, y = wl.make_data(workload)
    weights = wl.initial_weights(workload)
    saved = fn.get_num_threads()
    fn.set_num_threads(1)
    try:
        generic = FastnnImpl(workload, X, y, weights)
        if generic.model.params.size != N_PARAMS:
            raise ValueError("B1's architecture changed: update bench/specialised.py")
        special = Specialised(X, y, generic.model.params, workload.optimizer.lr)
        start = time.perf_counter()
        special.train_epoch(shuffle=False)
        compile_s = time.perf_counter() - start
        generic.train_epoch(shuffle=False)
        diff = float(np.abs(special.params - generic.model.params).max())
        times = {"generic": [], "specialised": []}
        for _ in range(rounds):
            for key, impl in (("generic", generic), ("specialised", special)):
                start = time.perf_counter()
                impl.train_epoch()
                times[key].append(time.perf_counter() - start)
    finally:
        fn.set_num_threads(saved)
    steps = workload.n_batches
    return {"compile_s": compile_s, "max_abs_diff": diff,
            **{f"{key}_us": float(np.median(t)) / steps * 1e6 for key, t in times.items()}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(wl.SCALES), default="quick")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    r = measure(args.scale, args.rounds)
    print(f"B1 per step: generic loop {r['generic_us']:.3f} us, specialised "
          f"{r['specialised_us']:.3f} us ({r['specialised_us'] / r['generic_us']:.2f}x); "
          f"specialised compile {r['compile_s']:.2f} s; weights after one epoch within "
          f"{r['max_abs_diff']:.1e}")


if __name__ == "__main__":
    main()
