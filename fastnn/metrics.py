"""Metrics reported by fit and evaluate.

    accuracy  binary (sigmoid/hinge outputs, elementwise, threshold 0.5 or 0) or categorical
              (argmax of the output against the label), chosen from the loss
    mae       mean |o - y|            mse   mean (o - y)^2            rmse  sqrt(mse)
    r2        1 - sum (o - y)^2 / sum (y - mean y)^2, pooled over the outputs

During fit the training metrics are accumulated batch by batch as the weights change (as Keras
reports them); evaluate computes them on fixed weights.
"""

import numpy as np

from .kernels import losses as _lk
from .kernels import training as _tk

METRICS = ("accuracy", "mae", "mse", "rmse", "r2")
ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse",
           "root_mean_squared_error": "rmse", "r2_score": "r2"}


def resolve(names, accuracy_rule):
    """Canonical metric names; ValueError for an unknown one or accuracy without a rule."""
    resolved = []
    for name in names or ():
        key = ALIASES.get(str(name).lower(), str(name).lower())
        if key not in METRICS:
            raise ValueError(f"unknown metric {name!r}; choose from: {', '.join(METRICS)}")
        if key == "accuracy" and accuracy_rule == _lk.NO_ACCURACY:
            raise ValueError("accuracy needs a classification loss (binary_crossentropy, "
                             "categorical_crossentropy, sparse_categorical_crossentropy, hinge)")
        if key not in resolved:
            resolved.append(key)
    return resolved


def dense_targets(y, n_outputs):
    """``y`` as one row per output: one-hot rows for sparse class indices, else unchanged."""
    if y.shape[1] == n_outputs:
        return y
    return np.eye(n_outputs, dtype=y.dtype)[y[:, 0].astype(np.int64)]


def sum_of_squares_about_mean(y):
    """sum (y - mean y)^2 pooled over columns, divided by the number of columns."""
    return float(((y - y.mean(axis=0)) ** 2).sum() / y.shape[1])


def from_stats(name, stats, n_outputs, accuracy_rule, y_spread):
    """A training metric from the compiled loop's accumulated stats."""
    rows = stats[_tk.STAT_ROWS]
    if name == "accuracy":
        per_row = n_outputs if accuracy_rule == _lk.BINARY_ACCURACY else 1
        return stats[_tk.STAT_CORRECT] / (rows * per_row)
    if name == "mae":
        return stats[_tk.STAT_ABS_ERR] / rows
    if name == "mse":
        return stats[_tk.STAT_SQ_ERR] / rows
    if name == "rmse":
        return float(np.sqrt(stats[_tk.STAT_SQ_ERR] / rows))
    return 1.0 - stats[_tk.STAT_SQ_ERR] / y_spread if y_spread > 0 else float("nan")


def from_predictions(name, out, y, accuracy_rule, threshold):
    """A metric of predictions ``out`` against targets ``y`` (both 2-D, the model's dtype)."""
    if name == "accuracy":
        per_row = out.shape[1] if accuracy_rule == _lk.BINARY_ACCURACY else 1
        correct = _lk.count_correct(accuracy_rule, out, y, threshold)
        return correct / (out.shape[0] * per_row)
    y = dense_targets(y, out.shape[1])
    err = out.astype(np.float64) - y
    if name == "mae":
        return float(np.abs(err).mean())
    if name == "mse":
        return float((err ** 2).mean())
    if name == "rmse":
        return float(np.sqrt((err ** 2).mean()))
    spread = sum_of_squares_about_mean(y.astype(np.float64))
    return 1.0 - float((err ** 2).sum() / y.shape[1]) / spread if spread > 0 else float("nan")
