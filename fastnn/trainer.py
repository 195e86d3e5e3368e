"""One fit's working set, and the call of the compiled loop, epoch by epoch.

``EpochTrainer`` is what every backend's trainer shares: the batch counts, each epoch's row
order (from the model's TrainingState, so every backend sees the same batches), the epoch's
statistics and the values they give, and ``run_epoch``: the batches in chunks of about
CHUNK_ROWS rows, so that Python sees a Ctrl-C and can report progress between chunks.
``CpuTrainer`` runs the chunks in compiled code on the CPU (fastnn/kernels/training.py); the
CUDA backend's trainer is fastnn/cuda/trainer.py. ``ModelSnapshot`` keeps what training
changes, to put it back.
"""

import math

import numpy as np

from . import diagnostics as diagnostics_mod
from . import metrics as metrics_mod
from . import memory, row_split, threads
from .kernels import losses as loss_kernels
from .kernels import training as train_kernels
from .kernel_scope import model_kernel_kinds
from .kernels.network import Network
from .training_state import copy_reusing

# Rows of training data per call of the compiled loop (at least one batch per call).
CHUNK_ROWS = 8192


class EpochTrainer:
    """The backend-independent part of a fit of ``model`` on (X, Y, W): ``W`` the per-row
    weights (float64) or None."""

    def __init__(self, model, X, Y, W, batch_size, drop_last=False):
        n = X.shape[0]
        self.model, self.X, self.Y, self.W = model, X, Y, W
        self.batch_size = min(int(batch_size), n)
        self.n_batches = n // self.batch_size if drop_last else math.ceil(n / self.batch_size)
        self.state = model.training_state
        self.optimizer_state = self.state.optimizer_state_for(model.optimizer,
                                                              model.plan.n_params, model.dtype)
        self.clip_norm, self.clip_value = model.optimizer.clipping()
        self.y_spread = metrics_mod.sum_of_squares_about_mean(
            metrics_mod.dense_targets(Y, model.plan.n_out).astype(np.float64), W)
        self.stats = np.zeros(train_kernels.N_STATS)
        self.chunk_batches = max(1, CHUNK_ROWS // self.batch_size)

    def epoch_order(self, shuffle):
        """The row order of the next epoch, from the model's seeded shuffling generator."""
        n = self.X.shape[0]
        order = self.state.shuffle.permutation(n) if shuffle else np.arange(n)
        return np.asarray(order, dtype=np.int64)

    def diverged(self):
        return bool(self.stats[train_kernels.STAT_NONFINITE])

    def epoch_values(self):
        """{"loss": mean training loss, metric: value, ..., "lr": the rate of the epoch's last
        update} from the stats accumulated (NaN where no batch completed)."""
        m, stats = self.model, self.stats
        weight = stats[train_kernels.STAT_WEIGHT]
        ran = stats[train_kernels.STAT_BATCHES] > 0
        values = {"loss": stats[train_kernels.STAT_LOSS] / weight if weight else
                  (0.0 if ran else math.nan)}
        for name in m.metrics:
            values[name] = (metrics_mod.from_stats(name, stats, m.plan.n_out, m.accuracy_rule,
                                                   self.y_spread) if weight else math.nan)
        values["lr"] = stats[train_kernels.STAT_LR] if ran else math.nan
        return values

    def layer_values(self):
        """The epoch's per-layer diagnostics (None where the backend records none)."""
        return None

    def start_epoch(self):
        """Reset the epoch's accumulators."""
        self.stats[:] = 0.0

    def run_batches(self, order, first, stop):
        """Train on batches [first, stop) of ``order``, accumulating into ``self.stats``;
        return the batch index reached (less than ``stop`` if the loss became non-finite)."""
        raise NotImplementedError

    def run_chunk(self, order, first, stop):
        return self.run_batches(order, first, stop)

    def run_epoch(self, shuffle=True, progress=None):
        """One epoch, CHUNK_ROWS rows of batches per compiled call; ``progress(batches_done,
        n_batches)`` is called after each call. Returns False if the loss became non-finite (the
        epoch stopped at that batch, whose update was not applied), else True."""
        self.start_epoch()
        order = self.epoch_order(shuffle)
        for first in range(0, self.n_batches, self.chunk_batches):
            stop = min(first + self.chunk_batches, self.n_batches)
            reached = self.run_chunk(order, first, stop)
            if progress is not None:
                progress(reached, self.n_batches)
            if self.diverged():
                return False
        return True


class CpuTrainer(EpochTrainer):
    """The epoch's batches in compiled code on the CPU, over the model's own buffers."""

    def __init__(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False):
        super().__init__(model, X, Y, W, batch_size, drop_last)
        dtype = model.dtype
        ops, opf, workspace = model.plan.tables(self.batch_size)
        self.network = Network(ops, opf, model.params, model.grads, model.state,
                               np.empty(workspace, dtype=dtype), np.empty(workspace, dtype=dtype),
                               model_kernel_kinds(model, monitor_layers))
        weights = loss_kernels.NO_WEIGHTS if W is None else W
        self.data = train_kernels.Batches(
            X, Y, weights, np.zeros(0, dtype=np.int64), self.batch_size,
            np.empty((self.batch_size, X.shape[1]), dtype=dtype),
            np.empty((self.batch_size, Y.shape[1]), dtype=dtype),
            np.empty(self.batch_size if W is not None else 0, dtype=np.float64))
        self.loss = model.loss_settings()
        self.monitor = diagnostics_mod.monitor_arrays(model, monitor_layers)
        self.run = train_kernels.RunState(self.state.mask_seed, self.state.counters, self.stats,
                                          self.monitor)
        self.monitoring = monitor_layers
        self.blas_threads = threads.ChunkThreads(model, self.batch_size, self.can_split)
        self.row_splits = {}  # parts -> RowSplit, made at the first chunk split in that many
        self.split_memory = {}  # parts -> whether the split's buffers fit in memory

    def layer_values(self):
        return diagnostics_mod.epoch_layer_values(self.model, self.monitor)

    def can_split(self, parts, gainful):
        """Whether this fit's batches can be split in ``parts`` (fastnn/row_split.py): when
        ``splits`` says so and the split's buffers fit in the memory available."""
        if not row_split.splits(self.batch_size, parts, self.monitoring, gainful):
            return False
        if parts not in self.split_memory:
            self.split_memory[parts] = memory.fits(
                row_split.extra_bytes(self.model, self.batch_size, parts))
        return self.split_memory[parts]

    def start_epoch(self):
        super().start_epoch()
        diagnostics_mod.reset_monitor(self.monitor)

    def run_chunk(self, order, first, stop):
        """The chunk's batches in one compiled call, or in two where the thread choice tries
        another setting on some of them (fastnn/threads.py)."""
        while first < stop:
            with self.blas_threads.chunk(stop - first) as (parts, count):
                end = first + count
                if parts > 1:
                    reached = self.run_split(order, first, end, parts)
                else:
                    reached = self.run_batches(order, first, end)
            if reached < end:
                return reached
            first = end
        return stop

    def optimizer_settings(self):
        m = self.model
        # Read at every call: a callback may have changed the rate between epochs.
        return train_kernels.OptimizerSettings(
            m.optimizer.code, m.optimizer.hyper(), self.state.optimizer_state, self.clip_norm,
            self.clip_value)

    def run_batches(self, order, first, stop):
        return train_kernels.train_batches(
            self.data._replace(order=order), first, stop, self.network, self.loss,
            self.optimizer_settings(), self.model.optimizer.schedule_settings(self.n_batches),
            self.run)

    def run_split(self, order, first, stop, parts):
        """``run_batches`` with each batch's rows split in ``parts`` (fastnn/row_split.py)."""
        split = self.row_splits.get(parts)
        if split is None:
            split = self.row_splits[parts] = row_split.RowSplit(self, parts)
        return split.run(order, first, stop, self.optimizer_settings(),
                         self.model.optimizer.schedule_settings(self.n_batches))


class ModelSnapshot:
    """A copy of everything training changes: parameters, state and the TrainingState;
    ``take`` copies them again (into the same buffers), ``restore`` puts them back."""

    def __init__(self, model):
        self.params = self.state = self.training_state = None
        self.take(model)

    def take(self, model):
        self.params = copy_reusing(self.params, model.params)
        self.state = copy_reusing(self.state, model.state)
        self.training_state = model.training_state.save(self.training_state)

    def restore(self, model):
        model.params[...] = self.params
        model.state[...] = self.state
        model.training_state.restore(self.training_state)
