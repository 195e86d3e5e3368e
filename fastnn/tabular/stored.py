"""The tabular model's part of a model file: plain JSON under the metadata key ``fastnn_cli``.

Format 2 (written now):

    {"format_version": 2,
     "features": {"columns": [column spec, ...], "ignored": [column name, ...]},
     "target":   {"name", "task", "loss", "classes" (classification) or "mean" and "scale"
                  (regression), "threshold" (binary)},
     "settings": {the training options as used, the task and the loss},
     "data":     {"file", "train_rows", "validation_rows"}}

Column specs are fastnn.tabular.columns' (numeric, categorical with an optional "other",
hashed). Format 1 (``fastnn train`` before the tabular model existed) has no "ignored", no
"threshold" (the loss's default applies) and only numeric and plain categorical columns; it is
read as format 2. A file is untrusted input: ``checked`` verifies every entry's type and range
before anything is built, and every problem is a ModelFileError naming the file and the entry.
"""

import math

from ..model_file import ModelFileError
from ..tasks import TASK_LOSSES

METADATA_KEY = "fastnn_cli"
FORMAT_VERSION = 2
MAX_BUCKETS = 1 << 20


class _Checker:
    def __init__(self, path):
        self.path = path

    def fail(self, where, problem):
        raise ModelFileError(self.path, f"corrupt tabular metadata: {where} {problem}")

    def dict(self, value, where):
        if not isinstance(value, dict):
            self.fail(where, f"must be an object, got {type(value).__name__}")
        return value

    def list(self, value, where, item=None):
        if not isinstance(value, list):
            self.fail(where, f"must be a list, got {type(value).__name__}")
        for k, entry in enumerate(value):
            if item is not None and not item(entry):
                self.fail(f"{where}[{k}]", f"has the wrong type ({entry!r})")
        return value

    def number(self, value, where, positive=False):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or (positive and value <= 0):
            self.fail(where, f"must be a finite{' positive' if positive else ''} number, got "
                             f"{value!r}")
        return float(value)

    def text(self, value, where):
        if not isinstance(value, str):
            self.fail(where, f"must be text, got {value!r}")
        return value


def _is_label(value):
    return isinstance(value, (str, int, float, bool)) and not (
        isinstance(value, float) and not math.isfinite(value))


def _check_column(check, column, where):
    check.dict(column, where)
    check.text(column.get("name"), f"{where}.name")
    kind = column.get("kind")
    if kind == "numeric":
        for key in ("median", "mean"):
            check.number(column.get(key), f"{where}.{key}")
        check.number(column.get("scale"), f"{where}.scale", positive=True)
    elif kind == "categorical":
        categories = check.list(column.get("categories"), f"{where}.categories",
                                lambda v: isinstance(v, str))
        if not categories or len(set(categories)) != len(categories):
            check.fail(f"{where}.categories", "must be distinct and not empty")
        if not isinstance(column.get("other", False), bool):
            check.fail(f"{where}.other", "must be true or false")
    elif kind == "hashed":
        buckets = column.get("buckets")
        if isinstance(buckets, bool) or not isinstance(buckets, int) \
                or not 1 <= buckets <= MAX_BUCKETS:
            check.fail(f"{where}.buckets", f"must be an integer in [1, {MAX_BUCKETS}]")
    else:
        check.fail(f"{where}.kind", f"must be numeric, categorical or hashed, got {kind!r}")


def _check_target(check, target):
    check.dict(target, "target")
    check.text(target.get("name"), "target.name")
    task = target.get("task")
    if task not in TASK_LOSSES:
        check.fail("target.task", f"must be one of {', '.join(TASK_LOSSES)}, got {task!r}")
    if target.get("loss") not in TASK_LOSSES[task]:
        check.fail("target.loss", f"must be one of {', '.join(TASK_LOSSES[task])} for a {task} "
                                  f"target, got {target.get('loss')!r}")
    if task == "regression":
        check.number(target.get("mean"), "target.mean")
        check.number(target.get("scale"), "target.scale", positive=True)
        return
    classes = check.list(target.get("classes"), "target.classes", _is_label)
    if len(classes) < 2 or len({(type(c), c) for c in classes}) != len(classes):
        check.fail("target.classes", "must hold at least two distinct labels")
    if task == "binary" and len(classes) != 2:
        check.fail("target.classes", "must hold exactly two labels for a binary target")
    if target.get("threshold") is not None:
        check.number(target["threshold"], "target.threshold")


def checked(stored, path):
    """The metadata in format 2, every entry checked (module docstring)."""
    check = _Checker(path)
    if stored is None:
        raise ModelFileError(path, "this model file has no tabular preprocessing (it was not "
                                   "written by `fastnn train` or TabularModel.save); load it "
                                   "with fastnn.load_model instead")
    check.dict(stored, METADATA_KEY)
    version = stored.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        check.fail("format_version", f"must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(path, f"written by a newer fastnn (tabular format {version}; this "
                                   f"fastnn reads up to {FORMAT_VERSION}): upgrade fastnn")
    features = check.dict(stored.get("features"), "features")
    columns = check.list(features.get("columns"), "features.columns")
    if not columns:
        check.fail("features.columns", "is empty")
    for k, column in enumerate(columns):
        _check_column(check, column, f"features.columns[{k}]")
    ignored = check.list(features.get("ignored", []), "features.ignored",
                         lambda v: isinstance(v, str))
    names = [c["name"] for c in columns] + ignored
    if len(set(names)) != len(names):
        check.fail("features", "names a column twice")
    _check_target(check, stored.get("target"))
    settings = check.dict(stored.get("settings", {}), "settings")
    data = check.dict(stored.get("data", {}), "data")
    return {"format_version": FORMAT_VERSION,
            "features": {"columns": columns, "ignored": ignored},
            "target": stored["target"], "settings": settings, "data": data}


def metadata(features, target, threshold, settings, data):
    """The JSON to store under METADATA_KEY."""
    target_dict = target.to_dict()
    if target.task == "binary":
        target_dict["threshold"] = threshold
    return {METADATA_KEY: {"format_version": FORMAT_VERSION, "features": features.to_dict(),
                           "target": target_dict, "settings": settings, "data": data}}
