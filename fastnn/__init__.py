"""fastnn: multilayer perceptrons on flat buffers, trained by one Numba-compiled loop.

    import fastnn as fn
    model = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
                          input_dim=4, seed=0)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=20, batch_size=32)
"""

from . import initializers, losses, optimizers, schedules
from .history import History
from .layers import Dense, Layer
from .losses import Huber
from .model import Sequential
from .model_file import ModelFileError, load_model
from .optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Nadam, RMSprop

__version__ = "0.1.0"

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Dense", "History", "Huber", "Layer",
           "ModelFileError", "Nadam", "RMSprop", "SGD", "Sequential", "initializers",
           "load_model", "losses", "optimizers", "schedules", "__version__"]
