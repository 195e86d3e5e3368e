"""Backends: where a model's fit, predict and gradients run. ``Sequential.to(device)`` picks one
(``backend_for``) and every method goes through it.

Each backend has the same three operations over a built, checked model:

    trainer(model, X, Y, W, batch_size, drop_last, monitor_layers)   an EpochTrainer for one fit
    predict(model, X, chunk)          the network's output for every row of X (checked arrays),
                                      ``chunk`` (>= 1) rows at a time; safe to call from
                                      several threads at once
    gradients(model, X, Y, W)         the mean loss's gradient over all rows into model.grads;
                                      returns the loss

``CpuBackend`` runs the compiled kernels of fastnn/kernels (predict: fastnn/inference.py);
``CudaBackend`` those of fastnn/cuda, which it imports only when a model is moved to "cuda" (so
``import fastnn`` never imports numba.cuda).
"""

import numpy as np

from .cuda.device import resolve_device
from .inference import predict as cpu_predict
from .kernels import losses as loss_kernels
from .kernels import training as train_kernels
from .kernel_scope import model_kernel_kinds
from .kernels.network import Network


class CpuBackend:
    name = "cpu"

    def trainer(self, model, X, Y, W, batch_size, drop_last=False, monitor_layers=False):
        from .trainer import CpuTrainer

        return CpuTrainer(model, X, Y, W, batch_size, drop_last, monitor_layers)

    def predict(self, model, X, chunk):
        return cpu_predict(model, X, chunk)

    def gradients(self, model, X, Y, W):
        ops, opf, workspace = model.plan.tables(X.shape[0])
        network = Network(ops, opf, model.params, model.grads, model.state,
                          np.empty(workspace, dtype=model.dtype),
                          np.empty(workspace, dtype=model.dtype), model_kernel_kinds(model))
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
