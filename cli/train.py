"""``fastnn train``: read a CSV table, fit the preprocessing on the training rows, build and train
the network, and save one model file with everything predict and evaluate need."""

import math
import os

import numpy as np

from . import target as target_mod
from .bundle import Bundle, warn_missing
from .errors import InputError
from .features import FeatureEncoder
from .files import check_outputs, read_table, write_atomically
from .scores import score

EXIT_DIVERGED = 1


def default_model_path(data_path):
    """DATA.csv -> DATA.fnn, next to the data."""
    return os.path.splitext(data_path)[0] + ".fnn"


def split_rows(n_rows, fraction, seed):
    """(training rows, validation rows): a seeded random ``fraction`` of the rows (at least one)
    is held out, since CSV files are often sorted by their target."""
    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    n_val = max(1, int(round(n_rows * fraction)))
    if n_val >= n_rows:
        raise InputError(f"{n_rows} row(s) are too few to hold out --val-split {fraction} for "
                         f"validation; use --val-split 0")
    order = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def batch_size_for(setting, n_rows):
    """An integer batch size; "sqrt" is round(sqrt(training rows))."""
    return max(1, int(round(math.sqrt(n_rows)))) if setting == "sqrt" else int(setting)


def select_target(frame, name, display):
    """(the target column without missing values, the table's matching rows)."""
    if name is None:
        name = frame.columns[-1]
    elif name not in frame.columns:
        raise InputError(f"--target {name!r} is not a column; the columns are "
                         f"{', '.join(map(repr, frame.columns))}")
    if frame.shape[1] < 2:
        raise InputError(f"the table has only the column {name!r}: it needs at least one "
                         f"feature column besides the target (is the file comma-separated?)")
    series = frame[name]
    if series.isna().all():
        raise InputError(f"column {name!r} is entirely empty")
    missing = series.isna()
    if missing.any():
        display.warn(f"skipped {int(missing.sum())} row(s) with no value in the target {name!r}")
        frame = frame[~missing].reset_index(drop=True)
    return frame, name


def build_model(n_inputs, target, settings):
    """The network: hidden Dense layers, then the output layer the task's loss needs."""
    import fastnn as fn

    init = settings["init"]
    layers = [fn.Dense(units, activation=settings["activation"], kernel_initializer=init)
              for units in settings["layers"]]
    layers.append(fn.Dense(target.n_outputs, activation=target.output_activation,
                           kernel_initializer=init))
    model = fn.Sequential(layers, input_dim=n_inputs, seed=settings["seed"],
                          dtype=settings["dtype"])
    optimizer = {"name": settings["opt"]}
    if settings["lr"] is not None:
        optimizer["learning_rate"] = settings["lr"]
    model.compile(optimizer=fn.optimizers.get(optimizer), loss=target.loss,
                  metrics=[target_mod.MAIN_METRIC[target.task]])
    return model


def fit(model, data, settings, display):
    """Train; return (history {name: [per epoch]}, how it stopped: completed / diverged /
    interrupted, and a message for the last two)."""
    X, y, Xv, yv = data
    history, stopped, message = {}, "completed", None
    with display.progress(settings["epochs"]) as bar:
        for epoch in range(settings["epochs"]):
            try:
                values = model.fit(X, y, epochs=1, batch_size=settings["batch_size"])
            except FloatingPointError as exc:
                stopped, message = "diverged", f"training diverged at epoch {epoch + 1} ({exc})"
                break
            except KeyboardInterrupt:
                stopped, message = "interrupted", f"interrupted during epoch {epoch + 1}"
                break
            values = {k: v[-1] for k, v in values.history.items()}
            if Xv is not None:
                values.update({f"val_{k}": v for k, v in model.evaluate(Xv, yv).items()})
            for key, value in values.items():
                history.setdefault(key, []).append(value)
            bar.update(epoch, values)
    return history, stopped, message


def write_history(path, history):
    """The per-epoch history as CSV: epoch (from 1), then one column per recorded value."""
    import pandas as pd

    table = pd.DataFrame(history)
    table.insert(0, "epoch", np.arange(1, len(table) + 1))
    write_atomically(path, lambda f: table.to_csv(f, index=False))


def run(data_path, settings, display):
    """The whole job; returns (result dict for --json and the tables, exit code)."""
    from . import plot

    out = settings.pop("out") or default_model_path(data_path)
    history_path, plot_path = settings.pop("history"), settings.pop("plot")
    check_outputs({"--out": out, "--history": history_path, "--plot": plot_path}, [data_path])
    if plot_path:
        plot.require_matplotlib()

    frame, target_name = select_target(read_table(data_path), settings.pop("target"), display)
    target_series = frame[target_name]
    task = settings["task"]
    if task == "auto":
        task = target_mod.infer_task(target_series)
    loss = target_mod.resolve_loss(task, settings["loss"])
    train_rows, val_rows = split_rows(len(frame), settings["val_split"], settings["seed"])

    features = FeatureEncoder.fit(frame.iloc[train_rows].drop(columns=[target_name]))
    # Classes come from every row (a class seen only in validation rows is still a class);
    # a regression target's scaling from the training rows only.
    target = target_mod.TargetEncoder.fit(
        target_series if task != "regression" else target_series.iloc[train_rows], task, loss)
    splits = {}
    imputed = missing_categories = 0
    for split, rows in (("train", train_rows), ("validation", val_rows)):
        if len(rows):
            part = frame.iloc[rows]
            X, n_imputed, n_missing = features.transform(part.drop(columns=[target_name]))
            imputed, missing_categories = imputed + n_imputed, missing_categories + n_missing
            splits[split] = (X, part[target_name])
    warn_missing(display, imputed, missing_categories)

    settings.update(task=task, loss=loss,
                    batch_size=batch_size_for(settings["batch_size"], len(train_rows)))
    model = build_model(features.width, target, settings)
    X, y_series = splits["train"]
    Xv, yv_series = splits.get("validation", (None, None))
    data = (X, target.encode(y_series), Xv, None if Xv is None else target.encode(yv_series))
    history, stopped, message = fit(model, data, settings, display)
    if stopped == "diverged":
        raise TrainingStopped(message + "; no model saved: lower --lr", EXIT_DIVERGED)

    bundle = Bundle(model, features, target, settings,
                    {"file": os.path.basename(data_path), "train_rows": len(train_rows),
                     "validation_rows": len(val_rows)})
    bundle.save(out)
    if history_path:
        write_history(history_path, history)
    if plot_path:
        plot.write_learning_curves(plot_path, history, target_mod.MAIN_METRIC[task],
                                   f"{os.path.basename(data_path)}: {task}, {settings['opt']}")
    result = {"model": out, "task": task, "target": target_name, "loss": loss,
              "inputs": features.width, "rows": {"train": len(train_rows),
                                                 "validation": len(val_rows)},
              "epochs": len(history.get("loss", [])), "stopped": stopped,
              "history": history_path, "plot": plot_path}
    result.update({split: score(bundle, X_, s) for split, (X_, s) in splits.items()})
    if message:
        display.warn(f"{message}; saved the model as it was at the end of the last epoch")
    return result, 130 if stopped == "interrupted" else 0


class TrainingStopped(Exception):
    """Training could not produce a model: ``message`` for stderr, ``exit_code``."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code
