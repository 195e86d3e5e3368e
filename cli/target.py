"""The target column: which task it is, which loss and output layer fit it, and how its values
are encoded for training and decoded from the network's outputs.

    task        inferred from the target column (override with --task)
    binary      strings, booleans or integers with exactly 2 distinct values
    multiclass  strings or booleans with more, or integers with 3..MAX_INTEGER_CLASSES values
    regression  any other numeric column (floats, or integers with many distinct values)

Classes are the sorted distinct target values; a regression target is standardised with the
training rows' mean and standard deviation and predictions are mapped back to its units.
"""

import numpy as np

from .errors import InputError

TASKS = ("binary", "multiclass", "regression")
MAX_INTEGER_CLASSES = 10

# The losses that fit each task (fastnn loss names and aliases), the default first, and the
# output activation each one trains (hinge scores are signs, so its output is linear).
TASK_LOSSES = {"binary": ("bce", "hinge"), "multiclass": ("scce", "cce"),
               "regression": ("mse", "mae", "huber")}
OUTPUT_ACTIVATION = {"bce": "sigmoid", "hinge": "linear", "scce": "softmax", "cce": "softmax",
                     "mse": "linear", "mae": "linear", "huber": "linear"}
LOSSES = tuple(OUTPUT_ACTIVATION)
MAIN_METRIC = {"binary": "accuracy", "multiclass": "accuracy", "regression": "r2"}


def infer_task(series):
    """The task a target column implies (see the module docstring)."""
    import pandas as pd

    values = series.dropna()
    distinct = values.nunique()
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "binary" if distinct <= 2 else "multiclass"
    integral = pd.api.types.is_integer_dtype(values) or bool(
        np.all(np.mod(values.to_numpy(dtype="float64"), 1.0) == 0))
    if integral and distinct <= MAX_INTEGER_CLASSES:
        return "binary" if distinct <= 2 else "multiclass"
    return "regression"


def resolve_loss(task, loss):
    """The loss for ``task`` ('auto' picks the task's default); InputError if it does not fit."""
    allowed = TASK_LOSSES[task]
    if loss in (None, "auto"):
        return allowed[0]
    if loss not in allowed:
        raise InputError(f"--loss {loss} does not fit a {task} target; choose "
                         f"{' or '.join(allowed)}")
    return loss


def _label(value):
    """A class label as a plain JSON value: numpy scalars become Python ones, and a whole float
    (an integer column that had missing values) an int."""
    value = value.item() if isinstance(value, np.generic) else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


class TargetEncoder:
    """Encodes a target column for one of the tasks, and decodes network outputs back."""

    def __init__(self, name, task, loss, classes=None, mean=0.0, scale=1.0):
        self.name, self.task, self.loss = name, task, loss
        self.classes, self.mean, self.scale = classes, mean, scale

    @classmethod
    def fit(cls, series, task, loss):
        """Fit on the target's training values (missing values already removed)."""
        import pandas as pd

        name = series.name
        if task == "regression":
            if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                example = series.iloc[0]
                raise InputError(f"the target {name!r} is not numeric (e.g. {example!r}), so it "
                                 f"cannot be a regression target; use --task binary or "
                                 f"multiclass")
            values = series.to_numpy(dtype="float64")
            scale = float(values.std())
            return cls(name, task, loss, mean=float(values.mean()),
                       scale=scale if scale > 0 else 1.0)
        classes = sorted(_label(v) for v in series.unique())
        if len(classes) < 2:
            raise InputError(f"the target {name!r} has only one value ({classes[0]!r}): "
                             f"nothing to classify")
        if task == "binary" and len(classes) > 2:
            raise InputError(f"the target {name!r} has {len(classes)} classes, not 2; "
                             f"use --task multiclass")
        return cls(name, task, loss, classes=classes)

    @property
    def n_outputs(self):
        return 1 if self.task != "multiclass" else len(self.classes)

    @property
    def output_activation(self):
        return OUTPUT_ACTIVATION[self.loss]

    def encode(self, series):
        """The training targets for the loss: class indices, one-hot rows, or standardised
        values; InputError for a label not seen in training."""
        if self.task == "regression":
            import pandas as pd

            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
            if np.isnan(values).any():
                raise InputError(f"the target {self.name!r} has non-numeric values")
            return (values - self.mean) / self.scale
        codes = series.map({c: k for k, c in enumerate(self.classes)})
        unknown = codes.isna()
        if unknown.any():
            raise InputError(f"the target {self.name!r} has the label "
                             f"{_label(series[unknown].iloc[0])!r}, which the model was not "
                             f"trained on (it knows {self.classes})")
        codes = codes.to_numpy(dtype=np.int64)
        if self.loss == "cce":
            return np.eye(len(self.classes))[codes]
        return codes.astype(np.float64)

    def probabilities(self, outputs):
        """Class probabilities, one column per class; InputError for a hinge model."""
        if self.task == "regression" or self.loss == "hinge":
            raise InputError(f"--proba needs a probabilistic classifier; this model is a "
                             f"{self.task} model trained with {self.loss}")
        if self.task == "binary":
            p = outputs[:, 0].astype(np.float64)
            return np.column_stack([1.0 - p, p])
        return outputs.astype(np.float64)

    def class_indices(self, outputs):
        """The predicted class index of each row."""
        if self.task == "multiclass":
            return np.argmax(outputs, axis=1)
        threshold = 0.0 if self.loss == "hinge" else 0.5
        return (outputs[:, 0] > threshold).astype(np.int64)

    def decode(self, outputs):
        """Predictions in the target's own values: labels, or numbers in the target's units."""
        if self.task == "regression":
            return outputs[:, 0].astype(np.float64) * self.scale + self.mean
        return np.array(self.classes, dtype=object)[self.class_indices(outputs)]

    def to_dict(self):
        data = {"name": self.name, "task": self.task, "loss": self.loss}
        if self.task == "regression":
            data.update(mean=self.mean, scale=self.scale)
        else:
            data["classes"] = self.classes
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(data["name"], data["task"], data["loss"], classes=data.get("classes"),
                   mean=data.get("mean", 0.0), scale=data.get("scale", 1.0))
