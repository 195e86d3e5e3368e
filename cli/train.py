"""``fastnn train``: read a CSV table, fit the preprocessing on the training rows, build and train
the network, and save one model file with everything predict and evaluate need."""

import math
import os
import warnings

import fastnn as fn
import numpy as np
from fastnn import defaults

from . import target as target_mod
from .bundle import Bundle, warn_missing
from .errors import InputError
from .features import FeatureEncoder
from .files import check_outputs, read_table, write_atomically
from .scores import score

EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130


def default_model_path(data_path):
    """DATA.csv -> DATA.fnn, next to the data."""
    return os.path.splitext(data_path)[0] + ".fnn"


def split_rows(n_rows, fraction, seed, classes=None):
    """(training rows, validation rows): a seeded random ``fraction`` of the rows (at least one)
    is held out, since CSV files are often sorted by their target. With ``classes`` (one label
    per row) the split is stratified: each class gives round(fraction x its rows) to validation."""
    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    rng = np.random.default_rng(seed)
    if classes is None:
        groups = [np.arange(n_rows)]
    else:
        codes = np.unique(np.asarray(classes, dtype=str), return_inverse=True)[1]
        groups = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    held = [rng.permutation(g)[:int(round(len(g) * fraction))] for g in groups]
    val = np.concatenate(held)
    if len(val) == 0:
        val = rng.permutation(n_rows)[:1]
    if len(val) >= n_rows:
        raise InputError(f"{n_rows} row(s) are too few to hold out --val-split {fraction} for "
                         f"validation; use --val-split 0")
    return np.setdiff1d(np.arange(n_rows), val), np.sort(val)


def batch_size_for(setting, n_rows):
    """An integer batch size; "sqrt" is round(sqrt(training rows))."""
    return max(1, int(round(math.sqrt(n_rows)))) if setting == "sqrt" else int(setting)


def select_target(frame, name, display):
    """(the table without the rows that have no target value, the target's name: --target, or
    the last column)."""
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


# How --schedule turns the run into a fastnn schedule's arguments: ``lr`` is the rate given (or
# the optimizer's default), ``total`` the planned updates (epochs x batches per epoch). The
# decays end the run at about lr / 10.
SCHEDULE_ARGUMENTS = {
    "constant": lambda lr, epochs, steps, total: {"learning_rate": lr},
    "time_based_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_rate": 9.0 / total},
    "exponential_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "k": math.log(10.0) / total},
    "step_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "factor": 0.5, "every": max(1, epochs // 4)},
    "inverse_time_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_rate": 9.0 / epochs},
    "cyclic": lambda lr, epochs, steps, total: {
        "base_lr": lr / 10.0, "max_lr": lr, "step_size": 4 * steps},
    "cosine_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_steps": total},
    "one_cycle": lambda lr, epochs, steps, total: {"max_lr": lr, "total_steps": total},
}


def build_optimizer(settings, n_rows):
    """The optimizer with --lr (default: the optimizer's own), --schedule and --clipnorm; records
    the rate used in ``settings["lr"]``."""
    optimizer = fn.optimizers.get({"name": settings["opt"], "clipnorm": settings["clipnorm"]})
    lr = settings["lr"] if settings["lr"] is not None else optimizer.learning_rate
    settings["lr"] = float(lr)
    settings["schedule"] = fn.schedules.canonical_name(settings["schedule"])
    if settings["schedule"] != "constant":
        steps = math.ceil(n_rows / settings["batch_size"])
        arguments = SCHEDULE_ARGUMENTS[settings["schedule"]](lr, settings["epochs"], steps,
                                                            settings["epochs"] * steps)
        lr = fn.schedules.get({"name": settings["schedule"], **arguments})
    optimizer.learning_rate = lr
    return optimizer


def hidden_block(units, settings, regularizer):
    """One hidden layer: Dense with the activation, or with --batchnorm Dense (linear) ->
    BatchNormalization -> Activation (the order of the BN papers and benchmark B4); then
    Dropout with --dropout."""
    activation, init = settings["activation"], settings["init"]
    if settings["batchnorm"]:
        if init == "auto":  # the initializer that suits the activation that follows the BN
            init = fn.initializers.auto_for(activation)
        block = [fn.Dense(units, kernel_initializer=init, kernel_regularizer=regularizer),
                 fn.BatchNormalization(), fn.Activation(activation)]
    else:
        block = [fn.Dense(units, activation=activation, kernel_initializer=init,
                          kernel_regularizer=regularizer)]
    if settings["dropout"]:
        block.append(fn.Dropout(settings["dropout"]))
    return block


def build_model(n_inputs, n_rows, target, settings):
    """The network: the hidden blocks, then the output layer the task's loss needs; --l1 and
    --l2 penalise every Dense kernel."""
    regularizer = None
    if settings["l1"] or settings["l2"]:
        regularizer = fn.regularizers.Regularizer(l1=settings["l1"], l2=settings["l2"])
    layers = [layer for units in settings["layers"]
              for layer in hidden_block(units, settings, regularizer)]
    layers.append(fn.Dense(target.n_outputs, activation=target.output_activation,
                           kernel_initializer=settings["init"], kernel_regularizer=regularizer))
    model = fn.Sequential(layers, input_dim=n_inputs, seed=settings["seed"],
                          dtype=settings["dtype"], device=settings["device"])
    model.compile(optimizer=build_optimizer(settings, n_rows), loss=target.loss,
                  metrics=[target_mod.MAIN_METRIC[target.task]])
    return model


class ShowEpoch(fn.Callback):
    """Moves the progress bar with each epoch's logged values."""

    def __init__(self, bar):
        super().__init__()
        self.bar = bar

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(epoch, logs)


def fit(model, data, settings, display):
    """Train with fastnn's validation, EarlyStopping (restoring the best weights), TerminateOnNaN
    and, with --diagnose, GradientMonitor. Returns (History, EarlyStopping or None, how it
    stopped: completed / early_stopping / diverged / interrupted)."""
    X, y, Xv, yv = data
    stopper = None
    callbacks = [fn.TerminateOnNaN()]
    if settings["early_stopping"]:
        stopper = fn.EarlyStopping(monitor="val_loss" if Xv is not None else "loss",
                                   patience=settings["early_stopping"])
        callbacks.append(stopper)
    if settings["diagnose"]:
        callbacks.append(fn.GradientMonitor())
    if not fn.kernels_cached():
        display.note("compiling fastnn's kernels for their first use (about 15 s, once: they "
                     "are cached on disk for later runs)")
    with display.progress(settings["epochs"]) as bar, \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y, epochs=settings["epochs"], batch_size=settings["batch_size"],
                      validation_data=None if Xv is None else (Xv, yv),
                      callbacks=callbacks + [ShowEpoch(bar)], progress=bar.batches)
        except KeyboardInterrupt:
            pass  # fit has stopped at a clean point and restored the best weights
    for warning in caught:
        display.warn(str(warning.message))
    reason = model.history.stop_reason
    stopped = {None: "completed", "callback": "early_stopping"}.get(reason, reason)
    return model.history, stopper, stopped


def stop_message(history, stopper, stopped, out):
    """What to tell the user when training diverged or was interrupted (None otherwise)."""
    epochs = len(history.epoch)
    if stopper is not None and stopper.best_epoch is not None:
        kept = (f"the best model seen (epoch {stopper.best_epoch + 1}, "
                f"{stopper.monitor.name} {stopper.best:.4g})")
    elif stopped == "diverged":
        kept = f"the model from the end of epoch {epochs - 1}"
    else:
        kept = "the model"
    if stopped == "diverged":
        if epochs < 2:
            return "training diverged in the first epoch; no model saved: lower --lr"
        return f"training diverged at epoch {epochs}; saved {kept} to {out}: lower --lr"
    if stopped == "interrupted":
        return f"interrupted during epoch {epochs + 1}; saved {kept} to {out}"
    return None


def write_history(path, history):
    """The per-epoch history as CSV: epoch (from 1), then every logged value (loss, metrics,
    their val_ twins, lr, time)."""
    import pandas as pd

    table = pd.DataFrame(history.history)
    table.insert(0, "epoch", np.asarray(history.epoch) + 1)
    write_atomically(path, lambda f: table.to_csv(f, index=False))


def diagnostics_summary(diagnostics):
    return {"report": diagnostics.report(),
            "flags": [{"kind": f.kind, "epoch": None if f.epoch is None else f.epoch + 1,
                       "layers": [diagnostics.layers[i] for i in f.layers],
                       "message": f.message} for f in diagnostics.flags]}


def run(data_path, settings, display):
    """The whole job. Returns (result dict for --json and the tables, exit code, a message
    for stderr when training did not run its course); TrainingStopped when no model is saved."""
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
    train_rows, val_rows = split_rows(len(frame), settings["val_split"], settings["seed"],
                                      None if task == "regression" else target_series)

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

    settings.update(task=task, loss=loss)
    if settings["batch_size"] is not None:
        settings["batch_size"] = batch_size_for(settings["batch_size"], len(train_rows))
    settings = defaults.fill(settings, len(train_rows), task)  # options not given
    model = build_model(features.width, len(train_rows), target, settings)
    X, y_series = splits["train"]
    Xv, yv_series = splits.get("validation", (None, None))
    data = (X, target.encode(y_series), Xv, None if Xv is None else target.encode(yv_series))
    history, stopper, stopped = fit(model, data, settings, display)
    message = stop_message(history, stopper, stopped, out)
    if stopped == "diverged" and "no model saved" in message:
        raise TrainingStopped(message, EXIT_DIVERGED)

    bundle = Bundle(model, features, target, settings,
                    {"file": os.path.basename(data_path), "train_rows": len(train_rows),
                     "validation_rows": len(val_rows)})
    bundle.save(out)
    if history_path:
        write_history(history_path, history)
    best_epoch = None if stopper is None or stopper.best_epoch is None \
        else stopper.best_epoch + 1
    if plot_path:
        plot.write_learning_curves(plot_path, history.history, target_mod.MAIN_METRIC[task],
                                   f"{os.path.basename(data_path)}: {task}, {settings['opt']}",
                                   best_epoch)
    result = {"model": out, "task": task, "target": target_name, "loss": loss,
              "inputs": features.width,
              "rows": {"train": len(train_rows), "validation": len(val_rows)},
              "epochs": len(history.epoch), "stopped": stopped,
              "best_epoch": best_epoch,
              "history": history_path, "plot": plot_path}
    result.update({split: score(bundle, X_, s) for split, (X_, s) in splits.items()})
    if history.diagnostics is not None:
        result["diagnostics"] = diagnostics_summary(history.diagnostics)
    code = {"diverged": EXIT_DIVERGED, "interrupted": EXIT_INTERRUPTED}.get(stopped, 0)
    return result, code, message


class TrainingStopped(Exception):
    """Training could not produce a model: ``message`` for stderr, ``exit_code``."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def show_result(result, display):
    """The final metrics table (and the gradient report with --diagnose) on stderr."""
    how = {"early_stopping": f", stopped early; best epoch {result['best_epoch']}",
           "completed": ""}.get(result["stopped"], f", {result['stopped']}")
    rows = {split: result[split] for split in ("train", "validation") if split in result}
    display.metrics_table(f"{result['task']} on {result['target']!r}: {result['epochs']} "
                          f"epoch(s){how}", rows)
    if "diagnostics" in result:
        display.note(result["diagnostics"]["report"])
    display.note(f"saved the model to {result['model']}")
