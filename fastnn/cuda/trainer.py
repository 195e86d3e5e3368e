"""One fit on the GPU: the CUDA twin of fastnn.trainer.Trainer, with the same interface.

The trainer copies the data to the device once (``device_data_limit`` bytes at most, by default
half of the free device memory; larger data is copied in chunks of whole batches, gathered in the
epoch's order on the host) and keeps on the device the flat parameter, gradient, state and
optimizer-state buffers, the activation workspaces and the epoch stats. For each batch it then
launches: gather the batch's rows, forward (fastnn/cuda/executor.py), loss gradient
and row stats (losses.py), the batch's stats (reductions.py), backward, BatchNorm's running
statistics, the regularizers' gradient and penalty (regularization.py), gradient clipping
(clipping.py), the optimizer update (optimizers.py). The learning rate of each update comes from
the CPU's schedule kernel (schedule and time-based decay) and goes to the update kernel as an
argument, so nothing but the epoch stats (8 numbers, between chunks of batches, for progress and
divergence) is copied between host and device inside an epoch.

The host copies stay the model's own: ``run_epoch`` (and ``run_batches``) uploads the parameters,
state and optimizer state at its start and brings them back at its end, so callbacks,
``get_weights`` and ``save`` see the current values between epochs.
"""

import numpy as np
from numba import cuda

from ..kernels import training as cpu_training
from ..kernels.schedules import learning_rate
from ..trainer import Trainer
from . import optimizers
from .clipping import Clipper
from .executor import DeviceNetwork
from .losses import N_ROW_STATS, launch_loss_rows, loss_scale
from .reductions import N_DEVICE_STATS, STAT_HALTED_AT, launch_accumulate_batch
from ._launch import grid


@cuda.jit
def gather_rows(source, order, start, rows, dest):
    """dest[r] = source[order[start + r]] for r < rows, one thread per element."""
    k = cuda.grid(1)
    cols = source.shape[1]
    if k >= rows * cols:
        return
    r = k // cols
    c = k - r * cols
    dest[r, c] = source[order[start + r], c]


def free_device_memory():
    """Bytes of free device memory (the simulator reports infinity)."""
    return cuda.current_context().get_memory_info().free


class CudaTrainer(Trainer):
    """``Trainer`` with the batches run on the GPU. Inherits the epoch order (the same seeded
    shuffles as the CPU, so both see the same batches) and ``epoch_values``."""

    def __init__(self, model, X, Y, batch_size, drop_last=False, monitor_layers=False,
                 device_data_limit=None):
        optimizers.check_supported(model.optimizer)
        if monitor_layers:
            raise ValueError("the per-layer gradient monitor (GradientMonitor) has no CUDA "
                             "kernel yet; use device='cpu' to monitor the layers")
        super().__init__(model, X, Y, batch_size, drop_last)
        dtype = model.dtype
        self.params = cuda.to_device(model.params)
        self.grads = cuda.device_array_like(model.grads)
        self.state = cuda.to_device(model.state)
        self.opt_state = cuda.to_device(model._opt_state)
        self.network = DeviceNetwork(model, self.batch_size, self.params, self.grads, self.state)
        self.clip = Clipper(model.plan.n_params, model.dtype, self.clip_norm, self.clip_value)
        self.scratch = optimizers.scratch_for(self.params)
        self.device_stats = cuda.device_array(N_DEVICE_STATS, dtype=np.float64)
        self.row_stats = cuda.device_array((self.batch_size, N_ROW_STATS), dtype=np.float64)
        limit = free_device_memory() / 2 if device_data_limit is None else device_data_limit
        self.resident = X.nbytes + Y.nbytes <= limit
        if self.resident:
            self.X_dev, self.Y_dev = cuda.to_device(X), cuda.to_device(Y)
            self.x_dev = cuda.device_array((self.batch_size, X.shape[1]), dtype=dtype)
            self.y_dev = cuda.device_array((self.batch_size, Y.shape[1]), dtype=dtype)
            self._order, self._order_dev = None, None
        else:
            row_bytes = X[:1].nbytes + Y[:1].nbytes
            self.data_chunk_batches = max(1, int(limit // (row_bytes * self.batch_size)))
            chunk_rows = self.data_chunk_batches * self.batch_size
            self.x_dev = cuda.device_array((chunk_rows, X.shape[1]), dtype=dtype)
            self.y_dev = cuda.device_array((chunk_rows, Y.shape[1]), dtype=dtype)
            self._chunk_first = 0

    def _gather_batch(self, order, start, rows):
        """Resident data: the batch's rows gathered on the device into x_dev, y_dev."""
        if order is not self._order:
            self._order, self._order_dev = order, cuda.to_device(order)
        for source, dest in ((self.X_dev, self.x_dev), (self.Y_dev, self.y_dev)):
            gather_rows[grid(rows * source.shape[1])](source, self._order_dev, start, rows, dest)
        return self.x_dev, self.y_dev

    def _load_chunk(self, order, b, stop):
        """Streamed data: copy the rows of batches b .. b + data_chunk_batches - 1 (not past
        stop) in epoch order into the device chunk."""
        start = b * self.batch_size
        end = min(min(b + self.data_chunk_batches, stop) * self.batch_size, order.shape[0])
        index = order[start:end]
        self.x_dev[:end - start].copy_to_device(self.X[index])
        self.y_dev[:end - start].copy_to_device(self.Y[index])
        self._chunk_first = b

    def _chunk_batch(self, b, rows):
        offset = (b - self._chunk_first) * self.batch_size
        return self.x_dev[offset:offset + rows], self.y_dev[offset:offset + rows]

    def run_batches(self, order, first, stop):
        """Train on batches [first, stop) of ``order``, accumulating into ``self.stats``;
        return the batch index reached (less than ``stop`` if the loss became non-finite).
        The model's buffers go to the device before and come back after."""
        self._upload()
        try:
            self._launch_batches(order, first, stop)
        finally:
            self._download_buffers()
        return self._read_stats(stop)

    def run_epoch(self, shuffle=True, progress=None):
        """One epoch, as ``Trainer.run_epoch`` (chunks of batches, ``progress(batches_done,
        n_batches)`` after each, False if the loss became non-finite), but with the model's
        buffers copied to the device once before and back once after (also on divergence or
        Ctrl-C); between chunks only the stats come back."""
        self.stats[:] = 0.0
        order = self.epoch_order(shuffle)
        self._upload()
        try:
            for first in range(0, self.n_batches, self.chunk_batches):
                stop = min(first + self.chunk_batches, self.n_batches)
                self._launch_batches(order, first, stop)
                reached = self._read_stats(stop)
                if progress is not None:
                    progress(reached, self.n_batches)
                if self.diverged():
                    return False
        finally:
            self._download_buffers()
        return True

    def _launch_batches(self, order, first, stop):
        """Launch the kernels of batches [first, stop); counts the updates in the model."""
        m = self.model
        # Read at every call, as on the CPU: a callback may have changed the rate.
        sched_code, sched_spec = m.optimizer.schedule()
        n = order.shape[0]
        self._first, self._updates_before = first, int(m._iterations[0])
        for b in range(first, stop):
            start = b * self.batch_size
            rows = min(start + self.batch_size, n) - start
            if self.resident:
                xb, yb = self._gather_batch(order, start, rows)
            else:
                if (b - first) % self.data_chunk_batches == 0:
                    self._load_chunk(order, b, stop)
                xb, yb = self._chunk_batch(b, rows)
            t = int(m._iterations[0])
            out = self.network.forward(xb, rows, True, m._mask_seed, t)
            launch_loss_rows(m.loss.code, out, yb, self.network.output_delta, rows,
                             m.loss_param, m.fused_output, m.accuracy_rule, m.threshold,
                             self.row_stats)
            lr = learning_rate(sched_code, sched_spec, m.optimizer.decay, t, self.n_batches)
            cols = out.shape[1]
            launch_accumulate_batch(self.row_stats, rows, cols, loss_scale(m.loss.code, rows, cols),
                                    lr, b, self.device_stats)
            self.network.backward(xb, rows, m.fused_output, m._mask_seed, t)
            self.network.update_state(rows, self.device_stats)
            self.network.add_penalty(rows, self.device_stats)
            self.clip(self.grads)
            optimizers.optimizer_step(m.optimizer.code, self.opt_hyper, self.params, self.grads,
                                      self.opt_state, lr, t + 1, self.device_stats, self.scratch)
            m._iterations[0] = t + 1

    def _upload(self):
        m = self.model
        self.params.copy_to_device(m.params)
        self.state.copy_to_device(m.state)
        self.opt_state.copy_to_device(m._opt_state)
        device_stats = np.zeros(N_DEVICE_STATS)
        device_stats[:cpu_training.N_STATS] = self.stats
        self.device_stats.copy_to_device(device_stats)

    def _download_buffers(self):
        m = self.model
        self.params.copy_to_host(m.params)
        self.grads.copy_to_host(m.grads)
        self.state.copy_to_host(m.state)
        self.opt_state.copy_to_host(m._opt_state)

    def _read_stats(self, stop):
        """Bring the stats back; the batch index reached. After a non-finite loss the model's
        update count is set to the updates really made (the later ones were skipped)."""
        device_stats = self.device_stats.copy_to_host()
        self.stats[:] = device_stats[:cpu_training.N_STATS]
        if not self.diverged():
            return stop
        halted = int(device_stats[STAT_HALTED_AT])
        self.model._iterations[0] = self._updates_before + max(0, halted - self._first)
        return halted
