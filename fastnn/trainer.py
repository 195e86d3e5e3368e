"""One fit's working set: the plan's tables, the workspaces, and the call of the compiled loop.

A ``Trainer`` is made by ``Sequential.fit`` for one (X, Y, batch size); ``run_epoch`` runs one
epoch in compiled code, in chunks of about CHUNK_ROWS rows (so that Python sees a Ctrl-C and can
report progress between chunks), and ``epoch_values`` gives the epoch's values.
"""

import math

import numpy as np

from . import diagnostics as diagnostics_mod
from . import metrics as metrics_mod
from . import threads
from .kernels import training as train_kernels

# Rows of training data per call of the compiled loop (at least one batch per call).
CHUNK_ROWS = 8192


class Trainer:
    def __init__(self, model, X, Y, batch_size, drop_last=False, monitor_layers=False):
        n = X.shape[0]
        self.model, self.X, self.Y = model, X, Y
        self.batch_size = min(int(batch_size), n)
        self.n_batches = n // self.batch_size if drop_last else math.ceil(n / self.batch_size)
        dtype = model.dtype
        self.ops, self.opf, workspace = model.plan.tables(self.batch_size)
        self.acts = np.empty(workspace, dtype=dtype)
        self.deltas = np.empty(workspace, dtype=dtype)
        self.x_batch = np.empty((self.batch_size, X.shape[1]), dtype=dtype)
        self.y_batch = np.empty((self.batch_size, Y.shape[1]), dtype=dtype)
        if model._opt_state is None:
            model._opt_state = model.optimizer.initial_state(model.plan.n_params, dtype)
        self.opt_hyper = model.optimizer.hyper()
        self.clip_norm, self.clip_value = model.optimizer.clipping()
        self.y_spread = metrics_mod.sum_of_squares_about_mean(
            metrics_mod.dense_targets(Y, model.plan.n_out).astype(np.float64))
        self.stats = np.zeros(train_kernels.N_STATS)
        self.monitor = diagnostics_mod.monitor_arrays(model, monitor_layers)
        self.chunk_batches = max(1, CHUNK_ROWS // self.batch_size)
        self.blas_threads = threads.ChunkThreads(model, self.batch_size)

    def epoch_order(self, shuffle):
        """The row order of the next epoch, from the model's seeded shuffling generator."""
        n = self.X.shape[0]
        order = self.model._shuffle_rng.permutation(n) if shuffle else np.arange(n)
        return order.astype(np.int64)

    def run_batches(self, order, first, stop):
        """Train on batches [first, stop) of ``order``, accumulating into ``self.stats``;
        return the batch index reached (less than ``stop`` if the loss became non-finite)."""
        m = self.model
        # Read at every call: a callback may have changed the rate between epochs.
        sched_code, sched_spec = m.optimizer.schedule()
        return train_kernels.train_batches(
            self.X, self.Y, order, first, stop, self.batch_size,
            self.ops, self.opf, m.params, m.grads, m.state, self.acts, self.deltas,
            self.x_batch, self.y_batch,
            m.loss.code, m.loss_param, m.fused_output, m.accuracy_rule, m.threshold,
            m.optimizer.code, self.opt_hyper, m._opt_state,
            sched_code, sched_spec, m.optimizer.decay, self.n_batches,
            self.clip_norm, self.clip_value, m._mask_seed, m._iterations, self.stats,
            self.monitor)

    def diverged(self):
        return bool(self.stats[train_kernels.STAT_NONFINITE])

    def epoch_values(self):
        """{"loss": mean training loss, metric: value, ..., "lr": the rate of the epoch's last
        update} from the stats accumulated (NaN where no batch completed)."""
        m, stats = self.model, self.stats
        rows = stats[train_kernels.STAT_ROWS]
        values = {"loss": stats[train_kernels.STAT_LOSS] / rows if rows else math.nan}
        for name in m.metrics:
            values[name] = (metrics_mod.from_stats(name, stats, m.plan.n_out, m.accuracy_rule,
                                                   self.y_spread) if rows else math.nan)
        values["lr"] = stats[train_kernels.STAT_LR] if rows else math.nan
        return values

    def layer_values(self):
        """The epoch's per-layer diagnostics (fastnn.diagnostics.epoch_layer_values)."""
        return diagnostics_mod.epoch_layer_values(self.model, self.monitor)

    def run_epoch(self, shuffle=True, progress=None):
        """One epoch, CHUNK_ROWS rows of batches per compiled call; ``progress(batches_done,
        n_batches)`` is called after each call. Returns False if the loss became non-finite (the
        epoch stopped at that batch, whose update was not applied), else True."""
        self.stats[:] = 0.0
        diagnostics_mod.reset_monitor(self.monitor)
        order = self.epoch_order(shuffle)
        for first in range(0, self.n_batches, self.chunk_batches):
            stop = min(first + self.chunk_batches, self.n_batches)
            with self.blas_threads.chunk(stop - first):
                reached = self.run_batches(order, first, stop)
            if progress is not None:
                progress(reached, self.n_batches)
            if self.diverged():
                return False
        return True


class ModelSnapshot:
    """A copy of everything training changes: parameters, state, optimizer state, update
    count; ``restore`` puts it back."""

    def __init__(self, model):
        self.params = model.params.copy()
        self.state = model.state.copy()
        self.opt_state = None if model._opt_state is None else model._opt_state.copy()
        self.iterations = model._iterations.copy()

    def restore(self, model):
        model.params[...] = self.params
        model.state[...] = self.state
        if self.opt_state is not None:
            model._opt_state[...] = self.opt_state
        model._iterations[...] = self.iterations
