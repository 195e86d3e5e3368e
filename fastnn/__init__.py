"""fastnn: multilayer perceptrons on flat buffers, trained by one Numba-compiled loop.

    import fastnn as fn
    model = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
                          input_dim=4, seed=0)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=20, batch_size=32)

``import fastnn`` loads nothing but this file: each public name below, and each module
(``fn.metrics``), is imported on first use (PEP 562 module ``__getattr__``), so NumPy and Numba
load when a model, layer or optimizer is first asked for, not when the package is imported.
"""

import importlib

from ._version import __version__

# Public name -> the fastnn module that defines it.
_ORIGIN = {
    **dict.fromkeys(["Callback", "CSVLogger", "EarlyStopping", "LearningRateScheduler",
                     "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"], "callbacks"),
    **dict.fromkeys(["Activation", "BatchNormalization", "Dense", "Dropout", "Layer", "Maxout",
                     "PReLU"], "layers"),
    **dict.fromkeys(["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Lion", "Nadam",
                     "RMSprop"], "optimizers"),
    **dict.fromkeys(["l1", "l1_l2", "l2"], "regularizers"),
    **dict.fromkeys(["GradientMonitor", "ewma"], "diagnostics"),
    **dict.fromkeys(["ModelFileError", "load_model"], "model_file"),
    **dict.fromkeys(["get_num_threads", "set_num_threads"], "threads"),
    "CudaUnavailableError": "cuda",
    "Ensemble": "ensemble",
    "History": "history",
    "Huber": "losses",
    "kernels_cached": "compile_cache",
    "Perceptron": "perceptron",
    "Sequential": "model",
    "TabularModel": "tabular.model",
    "tune": "tabular.tune",
}
_SUBMODULES = ("activations", "callbacks", "initializers", "losses", "optimizers",
               "regularizers", "schedules")

__all__ = ["__version__", *_ORIGIN, *_SUBMODULES]


def __getattr__(name):
    """A public name from its module; any other name of a fastnn module (``fn.metrics``) is
    that module, imported."""
    if name in _ORIGIN:
        value = getattr(importlib.import_module(f"{__name__}.{_ORIGIN[name]}"), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
