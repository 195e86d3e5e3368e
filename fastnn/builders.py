"""Ready-made networks: the standard MLP for a task, as used by sweeps and the estimators.

``mlp(task, n_outputs, ...)`` returns a compiled ``Sequential``:

    task          output layer                        loss                               metric
    binary        Dense(1, sigmoid)                   binary_crossentropy                accuracy
    multiclass    Dense(n_outputs, softmax)           sparse_categorical_crossentropy   accuracy
    regression    Dense(n_outputs, linear)            mse                                r2

Each hidden layer is ``Dense(width, activation)``, or with ``batchnorm`` the course's order
``Dense(width) -> BatchNormalization -> Activation``, followed by ``Dropout(dropout)`` when the
rate is above 0. ``l2`` puts ``kernel_regularizer=fn.l2(l2)`` (penalty l2 * sum w^2 added to the
mean loss, Keras's meaning) on every Dense kernel, the output layer's included.

``mlp_builder(y, **fixed)`` reads the task from the targets and returns a picklable
``build_fn(seed, **setting)`` for ``fastnn.model_selection``.
"""

import functools

import numpy as np

from . import layers as layers_mod
from . import optimizers as optimizers_mod
from . import regularizers
from .model import Sequential

TASKS = {
    "binary": ("sigmoid", "binary_crossentropy", "accuracy"),
    "multiclass": ("softmax", "sparse_categorical_crossentropy", "accuracy"),
    "regression": ("linear", "mse", "r2"),
}


def make_optimizer(optimizer="adam", learning_rate=None):
    """An optimizer from an instance or a name; ``learning_rate`` (None: the optimizer's default)
    is only allowed with a name."""
    if isinstance(optimizer, optimizers_mod.Optimizer):
        if learning_rate is not None:
            raise ValueError("learning_rate is given by the optimizer instance itself; "
                             "pass an optimizer name to set it here")
        return optimizer
    if learning_rate is None:
        return optimizers_mod.get(optimizer)
    return optimizers_mod.get({"name": optimizer, "learning_rate": learning_rate})


def mlp(task, n_outputs=1, *, hidden=(64,), activation="relu", dropout=0.0, batchnorm=False,
        l2=0.0, optimizer="adam", learning_rate=None, seed=0, dtype="float32", input_dim=None):
    """A compiled MLP for ``task`` (see the module docstring); ``hidden`` lists the widths."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    if isinstance(hidden, (int, np.integer)):
        hidden = (hidden,)
    hidden = tuple(hidden)
    if any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in hidden):
        raise ValueError(f"hidden layer sizes must be positive integers, got {hidden!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if not l2 >= 0.0:
        raise ValueError(f"l2 must be >= 0, got {l2!r}")
    output_activation, loss, metric = TASKS[task]
    units = 1 if task == "binary" else int(n_outputs)
    regularizer = {"kernel_regularizer": regularizers.l2(l2)} if l2 else {}
    stack = []
    for width in hidden:
        if batchnorm:
            stack += [layers_mod.Dense(int(width), **regularizer),
                      layers_mod.BatchNormalization(), layers_mod.Activation(activation)]
        else:
            stack.append(layers_mod.Dense(int(width), activation=activation, **regularizer))
        if dropout > 0:
            stack.append(layers_mod.Dropout(float(dropout)))
    stack.append(layers_mod.Dense(units, activation=output_activation, **regularizer))
    model = Sequential(stack, input_dim=input_dim, seed=seed, dtype=dtype)
    return model.compile(optimizer=make_optimizer(optimizer, learning_rate), loss=loss,
                         metrics=[metric])


def infer_task(y):
    """(task, n_outputs) from targets: integer or boolean labels 0..k-1 are classification
    (binary for k <= 2), floating-point targets regression (one output per column)."""
    y = np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise ValueError(f"y must be a non-empty 1-D or 2-D array, got shape {y.shape}")
    if y.dtype == np.bool_ or np.issubdtype(y.dtype, np.integer):
        if y.ndim != 1:
            raise ValueError("class labels must be one column (1-D y)")
        k = int(y.max()) + 1
        if y.min() < 0 or np.unique(y).size != k:
            raise ValueError("class labels must be the integers 0..k-1 with every class present; "
                             "encode them with np.unique(y, return_inverse=True)")
        return ("binary", 1) if k <= 2 else ("multiclass", k)
    if not np.issubdtype(y.dtype, np.floating):
        raise ValueError(f"y must be numeric, got dtype {y.dtype}")
    return "regression", 1 if y.ndim == 1 else y.shape[1]


def mlp_builder(y, task=None, **fixed):
    """A build_fn(seed, **setting) -> compiled MLP for the targets ``y``; ``task`` (default: read
    from y, see ``infer_task``) and ``fixed`` settings apply to every run, a sweep's grid
    settings on top."""
    inferred, n_outputs = infer_task(y)
    task = task or inferred
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    return functools.partial(mlp, task, n_outputs, **fixed)
