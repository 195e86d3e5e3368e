"""``fastnn predict`` and ``fastnn evaluate``: apply a trained model to a new CSV table with the
preprocessing stored in the model file."""

import os

import numpy as np

from .bundle import Bundle
from .errors import InputError
from .files import check_outputs, read_table, write_atomically
from .scores import score


def predictions_table(bundle, X, proba):
    """A DataFrame: the prediction in the target's own values (labels or units) under the
    target's name, and with ``proba`` one ``proba_<class>`` column per class."""
    import pandas as pd

    outputs = bundle.model.predict(X)
    target = bundle.target
    table = pd.DataFrame({target.name: target.decode(outputs)})
    if proba:
        probabilities = target.probabilities(outputs)
        for k, label in enumerate(target.classes):
            table[f"proba_{label}"] = probabilities[:, k]
    return table


def run_predict(model_path, data_path, out, proba, display):
    """Write the predictions CSV to ``out`` (atomically), or to stdout when ``out`` is None."""
    check_outputs({"--out": out}, [model_path, data_path])
    bundle = Bundle.load(model_path)
    if proba:
        bundle.target.probabilities(np.zeros((0, bundle.target.n_outputs)))  # refuse early
    X = bundle.inputs(read_table(data_path), display)
    table = predictions_table(bundle, X, proba)
    if out is None:
        import sys

        table.to_csv(sys.stdout, index=False)
    else:
        write_atomically(out, lambda f: table.to_csv(f, index=False))
        display.note(f"wrote {len(table)} prediction(s) to {out}")


def run_evaluate(model_path, data_path, display):
    """{"model", "data", "rows", "task", "loss", metrics..., "per_class" (classification)}."""
    bundle = Bundle.load(model_path)
    frame = read_table(data_path)
    name = bundle.target.name
    if name not in frame.columns:
        raise InputError(f"{data_path}: no target column {name!r}; evaluate needs the true "
                         f"values (predict does not)")
    missing = frame[name].isna()
    if missing.all():
        raise InputError(f"column {name!r} is entirely empty")
    if missing.any():
        display.warn(f"skipped {int(missing.sum())} row(s) with no value in the target {name!r}")
        frame = frame[~missing].reset_index(drop=True)
    X = bundle.inputs(frame, display)
    result = {"model": model_path, "data": data_path, "rows": len(frame),
              "task": bundle.target.task, "target": name}
    result.update(score(bundle, X, frame[name], with_classes=bundle.target.task != "regression"))
    return result


def show_evaluation(result, display):
    metrics = {k: v for k, v in result.items()
               if k in ("loss", "accuracy", "mse", "mae", "r2")}
    display.metrics_table(f"{os.path.basename(result['data'])} ({result['rows']} rows)",
                          {"evaluate": metrics})
    if "per_class" in result:
        display.class_table(result["per_class"])
