"""Where fastnn's training step spends its time: forward, loss, backward and optimizer update
timed separately, each repeated in a compiled loop on one batch, on one thread, in CPU time.

The whole step is taken from an epoch of the compiled loop as ``fit`` runs it
(``Trainer.run_epoch``: CPU time over the number of batches, without fit's input checks); what
it has beyond the four parts is the loop's own work (gathering the batch, statistics, the
schedule, clipping checks) and the calls between kernels. CPU time of the one thread counts
only work done, so the table holds even on a machine busy with other work, where the
wall-clock times do not.
"""

import time

import numba
import numpy as np

from fastnn.kernels import losses as loss_kernels
from fastnn.kernels import network
from fastnn.kernels import optimizers as opt_kernels


@numba.njit
def _forward(repeats, net, x, seed):
    for step in range(repeats):
        network.forward(net, x, True, seed, step, 0)


@numba.njit
def _loss(repeats, code, out, y, grad, param, fused):
    total = 0.0
    for _ in range(repeats):
        total += loss_kernels.loss_and_gradient(code, out, y, loss_kernels.NO_WEIGHTS, grad,
                                                param, fused)
    return total


@numba.njit
def _backward(repeats, net, x, fused, seed):
    for step in range(repeats):
        network.backward(net, x, fused, seed, step, 0)


@numba.njit
def _update(repeats, code, hyper, params, grads, state):
    for step in range(repeats):
        opt_kernels.optimizer_step(code, hyper, params, grads, state, 1e-6, step + 1)


def cpu_seconds(fn, *args):
    """CPU seconds of this thread for one call of ``fn`` (after one call to compile)."""
    fn(*args)
    start = time.thread_time()
    fn(*args)
    return time.thread_time() - start


def profile_step(impl, repeats=None):
    """{"forward", "loss", "backward", "update", "step"}: microseconds per batch of the fastnn
    implementation ``impl`` (bench.implementations.fastnn_impl.FastnnImpl), on one thread."""
    from fastnn import threads
    from fastnn.kernel_scope import model_kinds
    from fastnn.trainer import CpuTrainer

    model, workload = impl.model, impl.workload
    rows = min(workload.batch, workload.n)
    ops, opf, size = model.plan.tables(rows)
    dtype = model.dtype
    acts, deltas = np.zeros(size, dtype), np.zeros(size, dtype)
    x = np.ascontiguousarray(impl.X[:rows], dtype=dtype)
    y = np.ascontiguousarray(np.asarray(impl.y[:rows], dtype=dtype).reshape(rows, -1))
    params, grads = model.params.copy(), np.zeros_like(model.params)
    state = model.state.copy()
    opt_state = model.optimizer.initial_state(params.size, dtype)
    seed = model.training_state.mask_seed
    # the model's own table entries: the timing loops below compile only the cases it runs
    net = network.Network(ops, opf, params, grads, state, acts, deltas, model_kinds(model))
    flops = 2.0 * rows * sum(k * n for k, n in workload.dense_shapes) * 3
    repeats = repeats or max(5, min(20000, int(2e8 / max(flops, 1.0))))
    last = ops.shape[0] - 1
    out = network.op_view(acts, ops, last, rows)
    d_out = network.op_view(deltas, ops, last, rows)
    saved = threads.get_num_threads()
    threads.set_num_threads(1)
    try:
        with threads._limited(1):
            result = {
                "forward": cpu_seconds(_forward, repeats, net, x, seed),
                "loss": cpu_seconds(_loss, repeats, model.loss.code, out, y, d_out,
                                    model.loss_param, model.fused_output),
                "backward": cpu_seconds(_backward, repeats, net, x, model.fused_output, seed),
                "update": cpu_seconds(_update, repeats, model.optimizer.code,
                                      model.optimizer.hyper(), params, grads, opt_state),
            }
            result = {k: v / repeats * 1e6 for k, v in result.items()}
            X, Y, W = model._data(impl.X, impl.y)
            trainer = CpuTrainer(model, X, Y, W, workload.batch)
            result["step"] = cpu_seconds(trainer.run_epoch) / trainer.n_batches * 1e6
    finally:
        threads.set_num_threads(saved)
    return result

