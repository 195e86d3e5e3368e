"""Loss names, their kernel codes, how targets are shaped and checked for them, which accuracy
applies, and the per-row weights a fit or an evaluation takes.

The names and formulas are the table in fastnn/kernels/losses.py (see also docs/math.md).
"""

from dataclasses import dataclass

import numpy as np

from .checks import choice, number
from .kernels import losses as _k


@dataclass(frozen=True)
class LossSpec:
    name: str
    code: int
    fused_activation: str | None  # output activation whose derivative the loss folds in
    sparse_targets: bool = False  # targets are integer class indices, one column


LOSSES = {entry.name: LossSpec(entry.name, code, entry.fused_activation, entry.sparse_targets)
          for code, entry in enumerate(_k.LOSSES)}
ALIASES = {
    "mean_squared_error": "mse", "mean_absolute_error": "mae", "huber_loss": "huber",
    "bce": "binary_crossentropy", "cce": "categorical_crossentropy",
    "crossentropy": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
}
CLASSIFICATION = ("binary_crossentropy", "categorical_crossentropy",
                  "sparse_categorical_crossentropy", "hinge")


class Huber:
    """The Huber loss with its threshold ``delta`` (default 1.0), for ``compile(loss=...)``."""

    name = "huber"

    def __init__(self, delta=1.0):
        self.delta = number("Huber delta", delta, low=0.0, low_open=True)


def resolve(loss):
    """(LossSpec, parameter) for a loss name or a loss object such as ``Huber(2.0)``."""
    if isinstance(loss, Huber):
        return LOSSES["huber"], loss.delta
    if not isinstance(loss, str):
        raise ValueError(f"loss must be a name or fastnn.losses.Huber, got {loss!r}")
    key = ALIASES.get(loss.lower(), loss.lower())
    choice("loss", key if key in LOSSES else loss, list(LOSSES) + sorted(ALIASES))
    return LOSSES[key], _k.LOSSES[LOSSES[key].code].parameter


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


def numeric_array(what, values):
    """``values`` as a real numeric (or boolean) ndarray; ValueError for anything else, complex
    numbers included."""
    array = np.asarray(values)
    if np.iscomplexobj(array):
        raise ValueError(f"{what} must be real numbers, got complex values (dtype {array.dtype})")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric, got dtype {array.dtype}")
    return array


def as_finite(what, array, dtype):
    """``array`` converted to ``dtype``; ValueError when a value is NaN, infinite, or too large
    for the dtype (no NumPy warning escapes)."""
    with np.errstate(all="ignore"):
        converted = array.astype(dtype)
    if not np.all(np.isfinite(converted)):
        raise ValueError(f"{what} contains NaN or infinite values (or values too large for "
                         f"{np.dtype(dtype).name})")
    return converted


def prepare_targets(spec, y, n_outputs, dtype):
    """Targets as a C-contiguous (n, columns) array of ``dtype``, checked against the loss.

    Sparse losses take integer class indices in [0, n_outputs); binary cross-entropy takes
    values in [0, 1]; hinge takes -1/1 labels, or 0/1 labels, which it maps to -1/1 as Keras
    does.
    """
    y = numeric_array("y", y)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise ValueError(f"y must be 1-D or 2-D, got an array of shape {y.shape}")
    y = as_finite("y", y, dtype)
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
    if spec.code == _k.BCE and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"binary_crossentropy targets must be in [0, 1] (0/1 labels or "
                         f"probabilities), got values in [{y.min()}, {y.max()}]")
    if spec.code == _k.HINGE:
        if np.all((y == 0) | (y == 1)):
            y = 2 * y - 1
        elif not np.all((y == -1) | (y == 1)):
            raise ValueError(f"hinge targets must be -1/1 labels (or 0/1, mapped to -1/1), got "
                             f"values in [{y.min()}, {y.max()}]")
    return np.ascontiguousarray(y)


# ----------------------------------------------------------------------- weights
def class_labels(spec, Y):
    """The class of each row of prepared targets ``Y``: the index (sparse), the arg-max
    (one-hot), the label (one binary column: 0/1 for binary cross-entropy, -1/1 for hinge)."""
    if spec.sparse_targets:
        return Y[:, 0].astype(np.int64)
    if spec.name == "categorical_crossentropy":
        return np.argmax(Y, axis=1)
    if spec.name in ("binary_crossentropy", "hinge") and Y.shape[1] == 1:
        if np.any(Y != np.round(Y)):
            raise ValueError("class_weight needs class labels, got probabilities as targets")
        return Y[:, 0].astype(np.int64)
    raise ValueError(f"class_weight needs a loss with one class per row (one output column "
                     f"for {spec.name}); this model has {Y.shape[1]} columns of targets")


def class_weights(spec, Y, class_weight, n_outputs):
    """Per-row weights (float64) from ``class_weight``: a dict {class: weight} (classes not in
    it weigh 1) or "balanced" (n / (k count_c), scikit-learn's formula, k the classes present).
    For hinge the classes are the -1/1 labels (0 and 1 name -1 and 1 when given as 0/1)."""
    if spec.name not in CLASSIFICATION:
        raise ValueError(f"class_weight needs a classification loss, not {spec.name}")
    labels = class_labels(spec, Y)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be a dict or 'balanced', got {class_weight!r}")
        classes, counts = np.unique(labels, return_counts=True)
        table = dict(zip(classes.tolist(), (len(labels) / (len(classes) * counts)).tolist()))
    elif isinstance(class_weight, dict):
        table = {}
        for key, value in class_weight.items():
            label = int(key) if isinstance(key, (int, np.integer)) and not isinstance(
                key, (bool, np.bool_)) else None
            if spec.name == "hinge" and label == 0:
                label = -1
            valid = {"hinge": (-1, 1), "binary_crossentropy": (0, 1)}.get(spec.name)
            if label is None or (valid is not None and label not in valid) \
                    or (valid is None and not 0 <= label < n_outputs):
                raise ValueError(f"class_weight has the key {key!r}, which is not a class of "
                                 f"this model's targets")
            table[label] = number(f"class_weight[{key!r}]", value, low=0.0)
    else:
        raise ValueError(f"class_weight must be a dict or 'balanced', got {class_weight!r}")
    return np.array([table.get(label, 1.0) for label in labels.tolist()], dtype=np.float64)



def sample_weights(sample_weight, n_rows):
    """``sample_weight`` as a float64 array of ``n_rows`` finite values >= 0."""
    w = numeric_array("sample_weight", sample_weight)
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise ValueError(f"sample_weight must be 1-D with one weight per row ({n_rows}), got "
                         f"shape {w.shape}")
    w = as_finite("sample_weight", w, np.float64)
    if np.any(w < 0):
        raise ValueError("sample_weight must be >= 0")
    return np.ascontiguousarray(w)


def row_weights(spec, Y, sample_weight, class_weight, n_outputs):
    """The per-row weights of a fit or an evaluation: sample weights times class weights, or
    None when neither is given."""
    weights = None
    if sample_weight is not None:
        weights = sample_weights(sample_weight, Y.shape[0])
    if class_weight is not None:
        by_class = class_weights(spec, Y, class_weight, n_outputs)
        weights = by_class if weights is None else weights * by_class
    return weights
