"""One fit's working set: the plan's tables, the workspaces, and the call of the compiled loop.

A ``Trainer`` is made by ``Sequential.fit`` for one (X, Y, batch size); ``run_epoch`` runs one
epoch (or the batches [first, stop) of it) in compiled code and returns the epoch's values.
"""

import math

import numpy as np

from . import metrics as metrics_mod
from .kernels import training as train_kernels


class Trainer:
    def __init__(self, model, X, Y, batch_size, drop_last=False):
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
        self.sched_code, self.sched_spec = model.optimizer.schedule()
        self.clip_norm, self.clip_value = model.optimizer.clipping()
        self.y_spread = metrics_mod.sum_of_squares_about_mean(Y.astype(np.float64))
        self.stats = np.zeros(train_kernels.N_STATS)

    def epoch_order(self, shuffle):
        """The row order of the next epoch, from the model's seeded shuffling generator."""
        n = self.X.shape[0]
        order = self.model._shuffle_rng.permutation(n) if shuffle else np.arange(n)
        return order.astype(np.int64)

    def run_batches(self, order, first, stop):
        """Train on batches [first, stop) of ``order``, accumulating into ``self.stats``;
        return the batch index reached (less than ``stop`` if the loss became non-finite)."""
        m = self.model
        return train_kernels.train_batches(
            self.X, self.Y, order, first, stop, self.batch_size,
            self.ops, self.opf, m.params, m.grads, m.state, self.acts, self.deltas,
            self.x_batch, self.y_batch,
            m.loss.code, m.loss_param, m.fused_output, m.accuracy_rule, m.threshold,
            m.optimizer.code, self.opt_hyper, m._opt_state,
            self.sched_code, self.sched_spec, m.optimizer.decay, self.n_batches,
            self.clip_norm, self.clip_value, m._iterations, self.stats)

    def diverged(self):
        return bool(self.stats[train_kernels.STAT_NONFINITE])

    def epoch_values(self):
        """{"loss": mean training loss, metric: value, ..., "lr": the rate of the epoch's last
        update} from the stats accumulated."""
        m, stats = self.model, self.stats
        values = {"loss": stats[train_kernels.STAT_LOSS] / stats[train_kernels.STAT_ROWS]}
        for name in m.metrics:
            values[name] = metrics_mod.from_stats(name, stats, m.plan.n_out, m.accuracy_rule,
                                                  self.y_spread)
        values["lr"] = stats[train_kernels.STAT_LR]
        return values

    def run_epoch(self, shuffle=True):
        """One epoch; returns its values (FloatingPointError if the loss became non-finite)."""
        self.stats[:] = 0.0
        self.run_batches(self.epoch_order(shuffle), 0, self.n_batches)
        if self.diverged():
            raise FloatingPointError("the loss became NaN or infinite; lower the learning rate "
                                     "or scale the inputs")
        return self.epoch_values()
