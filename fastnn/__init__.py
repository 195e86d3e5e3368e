"""fastnn: multilayer perceptrons on flat buffers, trained by one Numba-compiled loop.

    import fastnn as fn
    model = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
                          input_dim=4, seed=0)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=20, batch_size=32)
"""

from . import activations, callbacks, initializers, losses, optimizers, regularizers, schedules
from ._version import __version__
from .callbacks import (Callback, CSVLogger, EarlyStopping, LearningRateScheduler,
                        ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN)
from .cuda import CudaUnavailableError
from .diagnostics import GradientMonitor, ewma
from .ensemble import Ensemble
from .history import History
from .compile_cache import kernels_cached
from .layers import Activation, BatchNormalization, Dense, Dropout, Layer, Maxout, PReLU
from .losses import Huber
from .model import Sequential
from .model_file import ModelFileError, load_model
from .optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Lion, Nadam, RMSprop
from .perceptron import Perceptron
from .regularizers import l1, l1_l2, l2
from .threads import get_num_threads, set_num_threads
from .tabular.model import TabularModel
from .tabular.tune import tune

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "CSVLogger", "Callback", "Dense",
           "EarlyStopping", "GradientMonitor", "History", "Huber", "Layer",
           "LearningRateScheduler", "Lion", "ModelCheckpoint", "ModelFileError", "Nadam",
           "RMSprop", "activations",
           "ReduceLROnPlateau", "SGD", "Sequential", "TerminateOnNaN", "callbacks", "ewma",
           "initializers", "kernels_cached", "load_model", "losses", "optimizers", "schedules",
           "__version__",
           "Activation", "BatchNormalization", "Dropout", "Maxout", "PReLU", "Perceptron",
           "l1", "l1_l2", "l2", "regularizers",
           "CudaUnavailableError", "get_num_threads", "set_num_threads", "TabularModel",
           "Ensemble", "tune"]
