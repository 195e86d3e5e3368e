"""Loss names, their kernel codes, how targets are shaped for them, and which accuracy applies.

The formulas are in fastnn/kernels/losses.py and docs/math.md.
"""

from dataclasses import dataclass

import numpy as np

from .kernels import losses as _k


@dataclass(frozen=True)
class LossSpec:
    name: str
    code: int
    fused_activation: str | None  # output activation whose derivative the loss folds in
    sparse_targets: bool = False  # targets are integer class indices, one column


LOSSES = {
    "mse": LossSpec("mse", _k.MSE, None),
    "mae": LossSpec("mae", _k.MAE, None),
    "huber": LossSpec("huber", _k.HUBER, None),
    "binary_crossentropy": LossSpec("binary_crossentropy", _k.BCE, "sigmoid"),
    "categorical_crossentropy": LossSpec("categorical_crossentropy", _k.CCE, "softmax"),
    "sparse_categorical_crossentropy": LossSpec(
        "sparse_categorical_crossentropy", _k.SCCE, "softmax", sparse_targets=True
    ),
    "hinge": LossSpec("hinge", _k.HINGE, None),
}
ALIASES = {
    "mean_squared_error": "mse", "mean_absolute_error": "mae", "huber_loss": "huber",
    "bce": "binary_crossentropy", "cce": "categorical_crossentropy",
    "crossentropy": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
}


class Huber:
    """The Huber loss with its threshold ``delta`` (default 1.0), for ``compile(loss=...)``."""

    name = "huber"

    def __init__(self, delta=1.0):
        if not delta > 0:
            raise ValueError(f"Huber delta must be > 0, got {delta!r}")
        self.delta = float(delta)


def resolve(loss):
    """(LossSpec, parameter) for a loss name or a loss object such as ``Huber(2.0)``."""
    if isinstance(loss, Huber):
        return LOSSES["huber"], loss.delta
    if not isinstance(loss, str):
        raise ValueError(f"loss must be a name or fastnn.losses.Huber, got {loss!r}")
    key = ALIASES.get(loss.lower(), loss.lower())
    if key not in LOSSES:
        known = ", ".join(list(LOSSES) + sorted(ALIASES))
        raise ValueError(f"unknown loss {loss!r}; choose one of: {known}")
    return LOSSES[key], 1.0


def accuracy_rule(spec, n_outputs):
    """(kernel accuracy rule, threshold) for a loss and output width."""
    if spec.sparse_targets:
        return _k.SPARSE_ACCURACY, 0.0
    if spec.code == _k.CCE:
        return _k.ONEHOT_ACCURACY, 0.0
    if spec.code == _k.BCE:
        return _k.BINARY_ACCURACY, 0.5
    if spec.code == _k.HINGE:
        return _k.BINARY_ACCURACY, 0.0
    return _k.NO_ACCURACY, 0.0


def prepare_targets(spec, y, n_outputs, dtype):
    """Targets as a C-contiguous (n, columns) array of ``dtype``, checked against the loss.

    Sparse losses take integer class indices in [0, n_outputs); hinge maps 0/1 labels to -1/1
    as Keras does.
    """
    y = np.asarray(y)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise ValueError(f"y must be 1-D or 2-D, got an array of shape {y.shape}")
    if not np.issubdtype(y.dtype, np.number) and y.dtype != np.bool_:
        raise ValueError(f"y must be numeric, got dtype {y.dtype}")
    y = y.astype(dtype)
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    if spec.sparse_targets:
        if y.shape[1] != 1:
            raise ValueError(
                f"{spec.name} takes one integer class index per row, got y of shape {y.shape}"
            )
        if np.any(y != np.round(y)) or y.min() < 0 or y.max() >= n_outputs:
            raise ValueError(
                f"{spec.name} targets must be integers in [0, {n_outputs}), "
                f"got values in [{y.min()}, {y.max()}]"
            )
    elif y.shape[1] != n_outputs:
        raise ValueError(
            f"y has {y.shape[1]} column(s) but the model has {n_outputs} output(s)"
        )
    if spec.code == _k.HINGE and np.all((y == 0) | (y == 1)):
        y = 2 * y - 1
    return np.ascontiguousarray(y)
