"""Metrics reported by fit and evaluate.

    accuracy  binary (sigmoid/hinge outputs, elementwise, threshold 0.5 or 0) or categorical
              (argmax of the output against the label), chosen from the loss
    mae       mean |o - y|            mse   mean (o - y)^2            rmse  sqrt(mse)
    r2        1 - sum (o - y)^2 / sum (y - mean y)^2, pooled over the outputs

During fit the training metrics are accumulated batch by batch as the weights change (as Keras
reports them); evaluate computes them on fixed weights. With sample weights w_i every mean is the
weighted mean (sum_i w_i x_i / sum_i w_i; accuracy the weighted fraction of correct rows, r2
scikit-learn's weighted r2).
"""

import numpy as np

from .checks import choice
from .kernels import losses as _lk
from .kernels import training as _tk

METRICS = ("accuracy", "mae", "mse", "rmse", "r2")
ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse",
           "root_mean_squared_error": "rmse", "r2_score": "r2"}


def resolve(names, accuracy_rule):
    """Canonical metric names; ValueError for an unknown one or accuracy without a rule."""
    resolved = []
    for name in names or ():
        key = str(name).lower()
        key = choice("metric", ALIASES.get(key, key), METRICS)
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


def sum_of_squares_about_mean(y, weights=None):
    """sum_i w_i (y_i - mean_w y)^2 pooled over columns, divided by the number of columns."""
    if weights is None:
        return float(((y - y.mean(axis=0)) ** 2).sum() / y.shape[1])
    if weights.sum() == 0:
        return 0.0
    mean = np.average(y, axis=0, weights=weights)
    return float((weights[:, None] * (y - mean) ** 2).sum() / y.shape[1])


def from_stats(name, stats, n_outputs, accuracy_rule, y_spread):
    """A training metric from the compiled loop's accumulated (weighted) stats."""
    rows = stats[_tk.STAT_WEIGHT]
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


def from_predictions(name, out, y, accuracy_rule, threshold, weights=None):
    """A metric of predictions ``out`` against targets ``y`` (both 2-D, the model's dtype),
    weighted by ``weights`` (float64, one per row; None: each row weighs 1)."""
    total = out.shape[0] if weights is None else float(weights.sum())
    if total == 0:
        return float("nan")
    if name == "accuracy":
        per_row = out.shape[1] if accuracy_rule == _lk.BINARY_ACCURACY else 1
        w = _lk.NO_WEIGHTS if weights is None else weights
        correct = _lk.count_correct(accuracy_rule, out, y, w, threshold)
        return correct / (total * per_row)
    y = dense_targets(y, out.shape[1])
    err = out.astype(np.float64) - y
    per_row_abs = np.abs(err).mean(axis=1)
    per_row_sq = (err ** 2).mean(axis=1)
    if name == "mae":
        return float(np.average(per_row_abs, weights=weights))
    if name == "mse":
        return float(np.average(per_row_sq, weights=weights))
    if name == "rmse":
        return float(np.sqrt(np.average(per_row_sq, weights=weights)))
    spread = sum_of_squares_about_mean(y.astype(np.float64), weights)
    squares = per_row_sq.sum() if weights is None else float((weights * per_row_sq).sum())
    return 1.0 - float(squares) / spread if spread > 0 else float("nan")
