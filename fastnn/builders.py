"""Ready-made networks: the standard MLP for a task, as built by the tabular workflow
(``fastnn train``, ``fastnn.TabularModel``), the sweeps and the scikit-learn estimators.

``mlp(task, n_outputs, ...)`` returns a compiled ``Sequential``. The output layer and the loss
follow the task (fastnn.tasks):

    task          output layer                        loss (default)                     metric
    binary        Dense(1, sigmoid)                   binary_crossentropy                accuracy
    multiclass    Dense(n_outputs, softmax)           sparse_categorical_crossentropy   accuracy
    regression    Dense(n_outputs, linear)            mse                                r2

``loss`` picks another loss that fits the task (hinge: a linear output unit; cce; mae, huber).
Each hidden layer is ``Dense(width, activation)``, or with ``batchnorm`` the order
``Dense(width) -> BatchNormalization -> Activation``, followed by ``Dropout(dropout)`` when the
rate is above 0. ``kernel_initializer`` applies to every Dense layer; "auto" picks the one that
suits the activation that follows the layer's product (He for the ReLU family, LeCun for SELU,
Glorot otherwise), which with ``batchnorm`` is the activation after the BatchNormalization.
``l1`` and ``l2`` put ``kernel_regularizer=Regularizer(l1, l2)`` (penalty l1 sum|w| + l2 sum w^2
added to the mean loss, Keras's meaning) on every Dense kernel, the output layer's included.

Hidden activations are ``HIDDEN_ACTIVATIONS``: every fastnn activation except ``step`` (no
gradient) and ``softmax`` (it couples the units of a layer; as a hidden layer it trains to
chance).

``mlp_builder(y, **fixed)`` reads the task from encoded targets and returns a picklable
``build_fn(seed, **setting)`` for ``fastnn.model_selection``.
"""

import functools

import numpy as np

from . import activations
from . import initializers as initializers_mod
from . import layers as layers_mod
from . import optimizers as optimizers_mod
from . import regularizers
from .model import Sequential
from .tasks import LOSS_NAMES, MAIN_METRIC, OUTPUT_ACTIVATION, check_task, resolve_loss
from .tasks import task_of_targets as infer_task

NOT_HIDDEN = ("step", "softmax")
HIDDEN_ACTIVATIONS = tuple(a for a in activations.ACTIVATIONS if a not in NOT_HIDDEN)

__all__ = ["HIDDEN_ACTIVATIONS", "infer_task", "make_optimizer", "mlp", "mlp_builder"]


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


def hidden_activation(name):
    """The canonical name of a hidden-layer activation; ValueError for one that cannot train
    as a hidden layer."""
    resolved = activations.resolve(name)
    if resolved not in HIDDEN_ACTIVATIONS:
        reason = "it has no gradient" if resolved == "step" else "it trains to chance there"
        raise ValueError(f"{resolved} cannot be a hidden activation ({reason}); choose one of: "
                         f"{', '.join(HIDDEN_ACTIVATIONS)}")
    return resolved


def _hidden_sizes(hidden):
    if isinstance(hidden, (int, np.integer)):
        hidden = (hidden,)
    hidden = tuple(hidden)
    if any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in hidden):
        raise ValueError(f"hidden layer sizes must be positive integers, got {hidden!r}")
    return tuple(int(w) for w in hidden)


def mlp(task, n_outputs=1, *, hidden=(64,), activation="relu", dropout=0.0, batchnorm=False,
        l1=0.0, l2=0.0, kernel_initializer="auto", loss=None, optimizer="adam",
        learning_rate=None, seed=0, dtype="float32", device="cpu", input_dim=None):
    """A compiled MLP for ``task`` (see the module docstring); ``hidden`` lists the widths."""
    check_task(task)
    hidden = _hidden_sizes(hidden)
    activation = hidden_activation(activation)
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    loss = resolve_loss(task, loss)
    regularizer = regularizers.Regularizer(l1=l1, l2=l2) if (l1 or l2) else None
    if batchnorm and kernel_initializer == "auto":
        hidden_init = initializers_mod.auto_for(activation)
    else:
        hidden_init = kernel_initializer
    stack = []
    for width in hidden:
        if batchnorm:
            stack += [layers_mod.Dense(width, kernel_initializer=hidden_init,
                                       kernel_regularizer=regularizer),
                      layers_mod.BatchNormalization(), layers_mod.Activation(activation)]
        else:
            stack.append(layers_mod.Dense(width, activation=activation,
                                          kernel_initializer=hidden_init,
                                          kernel_regularizer=regularizer))
        if dropout > 0:
            stack.append(layers_mod.Dropout(float(dropout)))
    units = 1 if task == "binary" else int(n_outputs)
    stack.append(layers_mod.Dense(units, activation=OUTPUT_ACTIVATION[loss],
                                  kernel_initializer=kernel_initializer,
                                  kernel_regularizer=regularizer))
    model = Sequential(stack, input_dim=input_dim, seed=seed, dtype=dtype, device=device)
    return model.compile(optimizer=make_optimizer(optimizer, learning_rate),
                         loss=LOSS_NAMES[loss], metrics=[MAIN_METRIC[task]])


def mlp_builder(y, task=None, **fixed):
    """A build_fn(seed, **setting) -> compiled MLP for the targets ``y``; ``task`` (default: read
    from y, see ``fastnn.tasks.task_of_targets``) and ``fixed`` settings apply to every run, a
    sweep's grid settings on top."""
    inferred, n_outputs = infer_task(y)
    task = check_task(task or inferred)
    return functools.partial(mlp, task, n_outputs, **fixed)
