"""Backends: where a model's fit, predict and gradients run. ``Sequential.to(device)`` picks one
(``backend_for``) and every method goes through it.

Each backend has the same three operations over a built, checked model:

    trainer(model, X, Y, W, batch_size, drop_last, monitor_layers)   an EpochTrainer for one fit
    predict(model, X, chunk)          the network's output for every row of X (checked arrays),
                                      ``chunk`` (>= 1) rows at a time; safe to call from
                                      several threads at once
    gradients(model, X, Y, W)         the mean loss's gradient over all rows into model.grads;
                                      returns the loss

``CpuBackend`` runs the compiled kernels of fastnn/kernels; ``CudaBackend`` those of fastnn/cuda,
which it imports only when a model is moved to "cuda" (so ``import fastnn`` never imports
numba.cuda).
"""

import numpy as np

from . import threads
from .cuda.device import resolve_device
from .kernels import inference as inference_kernels
from .kernels import losses as loss_kernels
from .kernels import training as train_kernels
from .kernels.dense import BLAS_MIN_ROWS
from .kernels.network import Network


class InferenceWorkspaces:
    """The activation workspaces of one plan's predictions on the CPU: a free list, so that
    calls in flight at the same time (predict releases the GIL) each hold their own, and a
    sequence of calls reuses one. ``take(rows)`` gives (capacity, ops, acts): a free workspace
    for chunks of up to ``capacity`` >= ``rows`` rows (a larger one serves any smaller chunk),
    or a new one; ``give`` returns it. list.pop and list.append are atomic, so no lock."""

    def __init__(self, plan, dtype):
        self.plan = plan
        self.dtype = dtype
        self.opf = plan.opf
        self.n_out = plan.n_out
        self._free = []

    def take(self, rows):
        try:
            entry = self._free.pop()
        except IndexError:
            entry = None
        if entry is None or entry[0] < rows:
            ops, _, size = self.plan.tables(rows)
            entry = (rows, ops, np.empty(size, dtype=self.dtype))
        return entry

    def give(self, entry):
        self._free.append(entry)


class CpuBackend:
    name = "cpu"

    def trainer(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False):
        from .trainer import CpuTrainer

        return CpuTrainer(model, X, Y, W, batch_size, drop_last, monitor_layers)

    def predict(self, model, X, chunk):
        n = X.shape[0]
        chunk = min(chunk, n)
        workspaces = model.inference_workspaces()
        capacity, ops, acts = entry = workspaces.take(chunk)
        opf, params, state = workspaces.opf, model.params, model.state
        out = np.empty((n, workspaces.n_out), dtype=model.dtype)
        if chunk < BLAS_MIN_ROWS:  # no product reaches BLAS: no thread policy, one call
            finite = inference_kernels.predict_checked(X, ops, opf, params, state, acts, chunk,
                                                       out)
        else:  # one call per chunk, each on the BLAS thread setting (threads.py)
            chooser = threads.ChunkThreads(model, chunk)
            finite = True
            for start in range(0, n, chunk):
                with chooser.chunk(min(chunk, n - start) / chunk):
                    finite = inference_kernels.predict_checked(
                        X[start:start + chunk], ops, opf, params, state, acts, chunk,
                        out[start:start + chunk])
                if not finite:
                    break
        workspaces.give(entry)
        if not finite:
            raise ValueError("X contains NaN or infinite values")
        return out

    def gradients(self, model, X, Y, W):
        ops, opf, workspace = model.plan.tables(X.shape[0])
        network = Network(ops, opf, model.params, model.grads, model.state,
                          np.empty(workspace, dtype=model.dtype),
                          np.empty(workspace, dtype=model.dtype))
        state = model.training_state
        return float(train_kernels.batch_gradients(
            X, Y, loss_kernels.NO_WEIGHTS if W is None else W, network, model.loss_settings(),
            state.mask_seed, state.counters[0]))


class CudaBackend:
    """The CUDA backend (fastnn/cuda); made only after ``resolve_device("cuda")`` passed."""

    name = "cuda"

    def trainer(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False):
        from .cuda.trainer import CudaTrainer

        return CudaTrainer(model, X, Y, W, batch_size, drop_last, monitor_layers)

    def predict(self, model, X, chunk):
        from .cuda.executor import predict

        return predict(model, X, chunk)

    def gradients(self, model, X, Y, W):
        from .cuda.executor import batch_gradients

        return float(batch_gradients(model, X, Y, W))


BACKENDS = {"cpu": CpuBackend, "cuda": CudaBackend}


def backend_for(device):
    """The backend of ``device`` ("cpu" or "cuda", any case); a clear ValueError where a CUDA
    GPU is not usable (fastnn.cuda.device)."""
    return BACKENDS[resolve_device(device)]()
