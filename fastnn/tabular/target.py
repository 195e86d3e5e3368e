"""The target column: how its values are encoded for training and decoded from the network.

    classification  the classes are the sorted distinct values of every row (a class seen only
                    in the validation rows is still a class); a row's target is its class index
                    (one-hot for cce, -1/1 is made by fastnn for hinge)
    regression      standardised with the training rows' mean and population standard
                    deviation (overflow-free, as numeric features are); predictions are mapped
                    back to the target's units

Binary decisions compare a score with a threshold: the sigmoid output (the probability of the
second class) for bce, default 0.5, or the raw output for hinge, default 0; a row is the second
class when its score is above the threshold.
"""

import numpy as np

from ..tasks import OUTPUT_ACTIVATION, TASKS
from .columns import numeric_statistics, numeric_values, shown
from .options import OptionError

DEFAULT_THRESHOLD = {"bce": 0.5, "hinge": 0.0}


def plain_label(value):
    """A class label as a plain JSON value: numpy scalars become Python ones, and a whole float
    (an integer column that had missing values) an int."""
    value = value.item() if isinstance(value, np.generic) else value
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _label_key(value):
    return (isinstance(value, str), value)


class TargetEncoder:
    """Encodes a target column for one of the tasks, and decodes network outputs back."""

    def __init__(self, name, task, loss, classes=None, mean=0.0, scale=1.0):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}")
        self.name, self.task, self.loss = name, task, loss
        self.classes, self.mean, self.scale = classes, mean, scale

    @classmethod
    def fit(cls, series, task, loss):
        """Fit on the target's values (missing values already removed): every row's for
        classification, the training rows' for regression."""
        import pandas as pd

        name = series.name
        if task == "regression":
            if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                raise ValueError(f"the target {name!r} is not numeric (e.g. "
                                 f"{shown(series.iloc[0])}), so it cannot be a regression "
                                 f"target; use the task binary or multiclass")
            statistics = numeric_statistics(numeric_values(series, name, trained=False))
            return cls(name, task, loss, mean=statistics["mean"], scale=statistics["scale"])
        classes = sorted({plain_label(v) for v in series.unique()}, key=_label_key)
        if len(classes) < 2:
            raise ValueError(f"the target {name!r} has only one value ({classes[0]!r}): "
                             f"nothing to classify")
        if task == "binary" and len(classes) > 2:
            raise ValueError(f"the target {name!r} has {len(classes)} classes, not 2; "
                             f"use the task multiclass")
        return cls(name, task, loss, classes=classes)

    @property
    def n_outputs(self):
        return 1 if self.task != "multiclass" else len(self.classes)

    @property
    def output_activation(self):
        return OUTPUT_ACTIVATION[self.loss]

    @property
    def default_threshold(self):
        return DEFAULT_THRESHOLD.get(self.loss) if self.task == "binary" else None

    def labels(self):
        """The classes as an array in the labels' own type (object for text)."""
        if any(isinstance(c, str) for c in self.classes):
            return np.array(self.classes, dtype=object)
        return np.array(self.classes)

    def codes(self, series):
        """Each row's class index; ValueError for a label not seen in training."""
        lookup = {c: k for k, c in enumerate(self.classes)}
        lookup.update({str(c): k for k, c in enumerate(self.classes)
                       if not isinstance(c, str) and str(c) not in lookup})
        codes = series.map(lambda v: lookup.get(plain_label(v), -1))
        unknown = np.flatnonzero(codes.to_numpy() < 0)
        if unknown.size:
            raise ValueError(f"the target {self.name!r} has the label "
                             f"{plain_label(series.iloc[unknown[0]])!r}, which the model was not "
                             f"trained on (it knows {self.classes})")
        return codes.to_numpy(dtype=np.int64)

    def encode(self, series):
        """The training targets for the loss: class indices, one-hot rows, or standardised
        values; ValueError for a label not seen in training."""
        if self.task == "regression":
            from .columns import standardise

            return standardise(numeric_values(series, self.name, trained=False),
                               {"mean": self.mean, "scale": self.scale})
        codes = self.codes(series)
        if self.loss == "cce":
            return np.eye(len(self.classes))[codes]
        return codes.astype(np.float64)

    def class_weights(self, codes, class_weight):
        """Per-class weights: "balanced" is n / (k x rows of the class) over ``codes`` (the
        training rows' classes, scikit-learn's rule); a mapping gives label -> weight (labels as
        they are or as text), 1 for a class it leaves out."""
        if self.task == "regression":
            raise OptionError("class_weight", "{option} needs a classification target")
        k = len(self.classes)
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise OptionError("class_weight", f"{{option}} must be 'balanced' or a mapping "
                                                  f"of label to weight, got {class_weight!r}")
            counts = np.bincount(codes, minlength=k).astype(np.float64)
            with np.errstate(divide="ignore"):
                return np.where(counts > 0, codes.size / (k * counts), 1.0)
        if not isinstance(class_weight, dict):
            raise OptionError("class_weight", f"{{option}} must be 'balanced' or a mapping of "
                                              f"label to weight, got "
                                              f"{type(class_weight).__name__}")
        weights = np.ones(k)
        by_text = {str(c): i for i, c in enumerate(self.classes)}
        for label, weight in class_weight.items():
            index = self.classes.index(label) if label in self.classes else by_text.get(
                str(label))
            if index is None:
                raise OptionError("class_weight", f"{{option}} names the label {label!r}, which "
                                                  f"is not a class of the target {self.name!r} "
                                                  f"({self.classes})")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                    or not np.isfinite(weight) or weight < 0:
                raise OptionError("class_weight", f"{{option}}: the weight of {label!r} must be "
                                                  f"a finite number >= 0, got {weight!r}")
            weights[index] = float(weight)
        return weights

    def probabilities(self, outputs):
        """Class probabilities, one column per class; ValueError for a hinge or regression
        model."""
        if self.task == "regression" or self.loss == "hinge":
            raise ValueError(f"probabilities need a probabilistic classifier; this model is a "
                             f"{self.task} model trained with {self.loss}")
        if self.task == "binary":
            p = outputs[:, 0].astype(np.float64)
            return np.column_stack([1.0 - p, p])
        return outputs.astype(np.float64)

    def scores(self, outputs):
        """A binary model's decision score per row (the probability of the second class for
        bce, the raw output for hinge)."""
        return outputs[:, 0].astype(np.float64)

    def class_indices(self, outputs, threshold=None):
        """The predicted class index of each row (binary: score > threshold)."""
        if self.task == "multiclass":
            return np.argmax(outputs, axis=1)
        threshold = self.default_threshold if threshold is None else threshold
        return (self.scores(outputs) > threshold).astype(np.int64)

    def decode(self, outputs, threshold=None):
        """Predictions in the target's own values: labels, or numbers in the target's units."""
        if self.task == "regression":
            with np.errstate(all="ignore"):
                return outputs[:, 0].astype(np.float64) * self.scale + self.mean
        return self.labels()[self.class_indices(outputs, threshold)]

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
