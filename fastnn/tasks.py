"""Tasks: which output layer, loss and metric a target needs, and how the task is guessed.

    task        output units         losses (default first; short names)   main metric
    binary      1                    bce (sigmoid), hinge (linear)          accuracy
    multiclass  one per class        scce, cce (softmax)                    accuracy
    regression  one per target       mse, mae, huber (linear)               r2

The output activation follows the loss: bce trains a sigmoid unit, scce and cce a softmax,
hinge a linear unit whose sign is the class, the regression losses linear units.

Guessing the task:
- from a raw table column (``guess_task``, what the tabular workflow does): strings, categories
  and booleans are classes; integers, or floats that are all whole, with at most
  MAX_INTEGER_CLASSES distinct values are classes; other numbers are regression. Two classes
  (or fewer) are binary.
- from encoded targets (``task_of_targets``, what the array builders do): integer or boolean
  labels 0..k-1 are classes, floating-point targets regression.
"""

import numpy as np

TASKS = ("binary", "multiclass", "regression")
MAX_INTEGER_CLASSES = 10

# The losses that fit each task (short names, the default first).
TASK_LOSSES = {"binary": ("bce", "hinge"), "multiclass": ("scce", "cce"),
               "regression": ("mse", "mae", "huber")}
# Short name -> fastnn's loss name, and the output activation the loss trains.
LOSS_NAMES = {"bce": "binary_crossentropy", "hinge": "hinge",
              "scce": "sparse_categorical_crossentropy", "cce": "categorical_crossentropy",
              "mse": "mse", "mae": "mae", "huber": "huber"}
OUTPUT_ACTIVATION = {"bce": "sigmoid", "hinge": "linear", "scce": "softmax", "cce": "softmax",
                     "mse": "linear", "mae": "linear", "huber": "linear"}
LOSSES = tuple(LOSS_NAMES)
MAIN_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


def check_task(task):
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    return task


def resolve_loss(task, loss=None):
    """The short name of the loss for ``task`` (None or "auto": the task's default); ValueError
    when the loss does not fit the task. fastnn's long names are accepted too."""
    check_task(task)
    allowed = TASK_LOSSES[task]
    if loss in (None, "auto"):
        return allowed[0]
    short = {long: short for short, long in LOSS_NAMES.items()}.get(loss, loss)
    if short not in allowed:
        raise ValueError(f"loss {loss} does not fit a {task} target; choose "
                         f"{' or '.join(allowed)}")
    return short


def guess_task(values):
    """The task a raw target column implies (a pandas Series or anything pandas takes; missing
    values ignored); see the module docstring."""
    import pandas as pd

    series = pd.Series(values).dropna()
    distinct = series.nunique()
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return "binary" if distinct <= 2 else "multiclass"
    numbers = series.to_numpy(dtype=np.float64)
    integral = pd.api.types.is_integer_dtype(series) or bool(
        np.all(np.isfinite(numbers)) and np.all(np.mod(numbers, 1.0) == 0))
    if integral and distinct <= MAX_INTEGER_CLASSES:
        return "binary" if distinct <= 2 else "multiclass"
    return "regression"


def task_of_targets(y):
    """(task, n_outputs) from encoded targets: integer or boolean labels 0..k-1 are
    classification (binary for k <= 2), floating-point targets regression (one output per
    column)."""
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
