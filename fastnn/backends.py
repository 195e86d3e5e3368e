"""Backends: where a model's fit, predict and gradients run. ``Sequential.to(device)`` picks one
(``backend_for``) and every method goes through it.

Each backend has the same three operations over a built, checked model:

    trainer(model, X, Y, W, batch_size, drop_last, monitor_layers)   an EpochTrainer for one fit
    predict(model, X, chunk)          the network's output for every row of X (checked arrays)
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


class CpuBackend:
    name = "cpu"

    def trainer(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False):
        from .trainer import CpuTrainer

        return CpuTrainer(model, X, Y, W, batch_size, drop_last, monitor_layers)

    def predict(self, model, X, chunk):
        n = X.shape[0]
        chunk = max(1, min(int(chunk), n))
        fields = model.inference_workspace(chunk)
        out = np.empty((n, model.plan.n_out), dtype=model.dtype)
        if chunk < BLAS_MIN_ROWS:  # no product reaches BLAS: no thread policy, one call
            finite = inference_kernels.predict_checked(X, fields, chunk, out)
        else:  # one call per chunk, each on the BLAS thread setting (threads.py)
            chooser = threads.ChunkThreads(model, chunk)
            finite = True
            for start in range(0, n, chunk):
                with chooser.chunk(min(chunk, n - start) / chunk):
                    finite = inference_kernels.predict_checked(
                        X[start:start + chunk], fields, chunk, out[start:start + chunk])
                if not finite:
                    break
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
