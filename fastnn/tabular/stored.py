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
read as format 2. A file is untrusted input: fastnn.load_model checks both formats against
fastnn.model_schema (every key, type and range, and the sizes against the network) before
anything is built, so what reaches ``checked`` is well-formed.
"""

from ..model_file import ModelFileError

METADATA_KEY = "fastnn_cli"
FORMAT_VERSION = 2


def checked(stored, path):
    """The metadata (already checked by load_model) in format 2; ModelFileError naming the file
    when it has none."""
    if stored is None:
        raise ModelFileError(path, "this model file has no tabular preprocessing (it was not "
                                   "written by `fastnn train` or TabularModel.save); load it "
                                   "with fastnn.load_model instead")
    features = stored["features"]
    return {"format_version": FORMAT_VERSION,
            "features": {"columns": features["columns"],
                         "ignored": features.get("ignored", [])},
            "target": stored["target"], "settings": stored.get("settings", {}),
            "data": stored.get("data", {})}


def metadata(features, target, threshold, settings, data):
    """The JSON to store under METADATA_KEY."""
    target_dict = target.to_dict()
    if target.task == "binary":
        target_dict["threshold"] = threshold
    return {METADATA_KEY: {"format_version": FORMAT_VERSION, "features": features.to_dict(),
                           "target": target_dict, "settings": settings, "data": data}}
