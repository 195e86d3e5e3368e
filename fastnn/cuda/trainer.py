"""One fit on the GPU: an EpochTrainer (fastnn/trainer.py) whose batches run as CUDA kernels.

The trainer copies the data to the device once (``device_data_limit`` bytes at most, by default
half of the free device memory; larger data is copied in chunks of whole batches, gathered in the
epoch's order on the host) and keeps on the device the flat parameter, gradient, state and
optimizer-state buffers, the activation workspaces and the epoch stats. For each batch it then
launches: gather the batch's rows (and sample weights), forward (fastnn/cuda/executor.py), loss
gradient and row stats (losses.py), the batch's stats (reductions.py), backward, BatchNorm's
running statistics, the regularizers' gradient and penalty (regularization.py), gradient
clipping (clipping.py), the optimizer update (optimizers.py). The learning rate of each update
comes from the CPU's schedule kernel (schedule and time-based decay) and goes to the update
kernel as an argument, so nothing but the epoch stats (between chunks of batches, for progress
and divergence) is copied between host and device inside an epoch.

The host copies stay the model's own: ``run_epoch`` (and ``run_batches``) uploads the parameters,
state and optimizer state at its start and brings them back at its end, so callbacks,
``get_weights`` and ``save`` see the current values between epochs.
"""

import numpy as np
from numba import cuda

from ..kernels.losses import PER_ROW
from ..kernels.schedules import learning_rate
from ..kernels.training import N_STATS
from ..trainer import EpochTrainer
from . import optimizers
from ._launch import element_of_thread, elements, grid
from .clipping import Clipper
from .executor import DeviceNetwork
from .losses import launch_loss_rows
from .reductions import N_DEVICE_STATS, N_ROW_STATS, STAT_HALTED_AT, launch_accumulate_batch


@cuda.jit
def gather_rows(source, order, start, rows, dest):
    """dest[r] = source[order[start + r]] for r < rows, one thread per element."""
    r, c = element_of_thread(rows, source.shape[1])
    if r < 0:
        return
    dest[r, c] = source[order[start + r], c]


@cuda.jit
def gather_weights(source, order, start, rows, dest):
    """dest[r] = source[order[start + r]] for r < rows (1-D weights)."""
    r = cuda.grid(1)
    if r < rows:
        dest[r] = source[order[start + r]]


def free_device_memory():
    """Bytes of free device memory (the simulator reports infinity)."""
    return cuda.current_context().get_memory_info().free


class CudaTrainer(EpochTrainer):
    """The epoch's batches as CUDA kernels over device copies of the model's buffers. The epoch
    order is EpochTrainer's (the same seeded shuffles as the CPU, so both see the same
    batches)."""

    def __init__(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False,
                 device_data_limit=None):
        optimizers.check_supported(model.optimizer)
        if monitor_layers:
            raise ValueError("the per-layer gradient monitor (GradientMonitor) has no CUDA "
                             "kernel yet; use device='cpu' to monitor the layers")
        super().__init__(model, X, Y, W, batch_size, drop_last)
        dtype = model.dtype
        self.params = cuda.to_device(model.params)
        self.grads = cuda.device_array_like(model.grads)
        self.state_dev = cuda.to_device(model.state)
        self.opt_state = cuda.to_device(self.optimizer_state)
        self.network = DeviceNetwork(model, self.batch_size, self.params, self.grads,
                                     self.state_dev)
        self.clip = Clipper(model.plan.n_params, model.dtype, self.clip_norm, self.clip_value)
        self.device_stats = cuda.device_array(N_DEVICE_STATS, dtype=np.float64)
        self.row_stats = cuda.device_array((self.batch_size, N_ROW_STATS), dtype=np.float64)
        self.weight_total = cuda.device_array(1, dtype=np.float64)
        self.weighted = W is not None
        self.w_dev = cuda.device_array(self.batch_size if self.weighted else 0, dtype=np.float64)
        limit = free_device_memory() / 2 if device_data_limit is None else device_data_limit
        data_bytes = X.nbytes + Y.nbytes + (W.nbytes if self.weighted else 0)
        self.resident = data_bytes <= limit
        if self.resident:
            self.X_dev, self.Y_dev = cuda.to_device(X), cuda.to_device(Y)
            self.W_dev = cuda.to_device(W) if self.weighted else None
            self.x_dev = cuda.device_array((self.batch_size, X.shape[1]), dtype=dtype)
            self.y_dev = cuda.device_array((self.batch_size, Y.shape[1]), dtype=dtype)
            self._order, self._order_dev = None, None
        else:
            row_bytes = data_bytes / X.shape[0]
            self.data_chunk_batches = max(1, int(limit // (row_bytes * self.batch_size)))
            chunk_rows = self.data_chunk_batches * self.batch_size
            self.x_dev = cuda.device_array((chunk_rows, X.shape[1]), dtype=dtype)
            self.y_dev = cuda.device_array((chunk_rows, Y.shape[1]), dtype=dtype)
            self.w_chunk = cuda.device_array(chunk_rows if self.weighted else 0,
                                             dtype=np.float64)
            self._chunk_first = 0

    def _gather_batch(self, order, start, rows):
        """Resident data: the batch's rows gathered on the device into x_dev, y_dev, w_dev."""
        if order is not self._order:
            self._order, self._order_dev = order, cuda.to_device(order)
        for source, dest in ((self.X_dev, self.x_dev), (self.Y_dev, self.y_dev)):
            gather_rows[elements(rows, source.shape[1])](source, self._order_dev, start, rows, dest)
        if self.weighted:
            gather_weights[grid(rows)](self.W_dev, self._order_dev, start, rows, self.w_dev)
            return self.x_dev, self.y_dev, self.w_dev[:rows]
        return self.x_dev, self.y_dev, self.w_dev

    def _load_chunk(self, order, b, stop):
        """Streamed data: copy the rows of batches b .. b + data_chunk_batches - 1 (not past
        stop) in epoch order into the device chunk."""
        start = b * self.batch_size
        end = min(min(b + self.data_chunk_batches, stop) * self.batch_size, order.shape[0])
        index = order[start:end]
        self.x_dev[:end - start].copy_to_device(self.X[index])
        self.y_dev[:end - start].copy_to_device(self.Y[index])
        if self.weighted:
            self.w_chunk[:end - start].copy_to_device(self.W[index])
        self._chunk_first = b

    def _chunk_batch(self, b, rows):
        offset = (b - self._chunk_first) * self.batch_size
        weights = self.w_chunk[offset:offset + rows] if self.weighted else self.w_dev
        return self.x_dev[offset:offset + rows], self.y_dev[offset:offset + rows], weights

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
        """One epoch, as ``EpochTrainer.run_epoch``, but with the model's buffers copied to the
        device once before and back once after (also on divergence or Ctrl-C); between chunks
        only the stats come back."""
        self.start_epoch()
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
        schedule = m.optimizer.schedule_settings(self.n_batches)
        hyper = cuda.to_device(m.optimizer.hyper())
        loss = m.loss_settings()
        per_row = PER_ROW[loss.code]
        n = order.shape[0]
        seed = self.state.mask_seed
        self._first, self._updates_before = first, self.state.iterations
        for b in range(first, stop):
            start = b * self.batch_size
            rows = min(start + self.batch_size, n) - start
            if self.resident:
                xb, yb, wb = self._gather_batch(order, start, rows)
            else:
                if (b - first) % self.data_chunk_batches == 0:
                    self._load_chunk(order, b, stop)
                xb, yb, wb = self._chunk_batch(b, rows)
            t = self.state.iterations
            out = self.network.forward(xb, rows, True, seed, t)
            launch_loss_rows(loss.code, out, yb, wb, self.weight_total, self.network.output_delta,
                             rows, loss.param, loss.fused, loss.accuracy_rule, loss.threshold,
                             self.row_stats)
            lr = learning_rate(schedule.code, schedule.spec, schedule.decay, t,
                               schedule.steps_per_epoch, None)
            launch_accumulate_batch(self.row_stats, rows, out.shape[1], per_row, lr, b,
                                    self.device_stats)
            self.network.backward(xb, rows, loss.fused, seed, t)
            self.network.update_state(rows, self.device_stats)
            self.network.add_penalty(self.device_stats)
            self.clip(self.grads)
            optimizers.optimizer_step(m.optimizer.code, hyper, self.params, self.grads,
                                      self.opt_state, lr, t + 1, self.device_stats)
            self.state.iterations = t + 1

    def _upload(self):
        m = self.model
        self.params.copy_to_device(m.params)
        self.state_dev.copy_to_device(m.state)
        self.opt_state.copy_to_device(self.state.optimizer_state)
        device_stats = np.zeros(N_DEVICE_STATS)
        device_stats[:N_STATS] = self.stats
        self.device_stats.copy_to_device(device_stats)

    def _download_buffers(self):
        m = self.model
        self.params.copy_to_host(m.params)
        self.grads.copy_to_host(m.grads)
        self.state_dev.copy_to_host(m.state)
        self.opt_state.copy_to_host(self.state.optimizer_state)

    def _read_stats(self, stop):
        """Bring the stats back; the batch index reached. After a non-finite loss the model's
        update count is set to the updates really made (the later ones were skipped)."""
        device_stats = self.device_stats.copy_to_host()
        self.stats[:] = device_stats[:N_STATS]
        if not self.diverged():
            return stop
        halted = int(device_stats[STAT_HALTED_AT])
        self.state.iterations = self._updates_before + max(0, halted - self._first)
        return halted
