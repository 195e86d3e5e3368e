"""``fastnn train``: a ``fastnn.TabularModel`` fitted on DATA and saved as one model file, with
the progress, the history and plot files, and what to say when training does not run its
course."""

import os
import warnings

import fastnn as fn
import numpy as np
from fastnn import compile_cache
from fastnn.tabular.fitting import TrainingDiverged
from fastnn.tasks import MAIN_METRIC

from . import signals
from .files import check_outputs, write_atomically

EXIT_DIVERGED = 1
# train's own settings; the others are TabularModel's options.
NOT_OPTIONS = ("target", "task", "sep", "class_weight", "weight")


class TrainingStopped(Exception):
    """Training could not produce a model: ``message`` for stderr, ``exit_code``."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def default_model_path(data_path):
    """DATA.csv -> DATA.fnn (DATA.csv.gz -> DATA.fnn), next to the data."""
    stem = data_path
    for suffix in (".gz", ".bz2", ".xz", ".zst"):
        if stem.lower().endswith(suffix):
            stem = stem[:-len(suffix)]
    return os.path.splitext(stem)[0] + ".fnn"


class ShowEpoch(fn.Callback):
    """Opens the progress display when training begins (over the run's epochs), moves it with
    each epoch's logged values and closes it when training ends, however it ends."""

    def __init__(self, display):
        super().__init__()
        self.display = display
        self.progress = None
        self.open = False

    def on_train_begin(self, logs=None):
        self.progress = self.display.progress(self.params["epochs"])
        self.progress.__enter__()
        self.open = True

    def on_epoch_end(self, epoch, logs=None):
        self.progress.update(epoch, logs)

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self.open:
            self.open = False
            self.progress.__exit__(None, None, None)

    def batches(self, epoch, done, total):
        if self.open:
            self.progress.batches(epoch, done, total)


def fit(model, data_path, extra, display):
    """Fit ``model`` on DATA with the progress shown; fastnn's warnings become warnings here.
    Returns True when Ctrl-C or SIGTERM stopped training (the model is then fitted with the
    weights kept)."""
    show = ShowEpoch(display)
    interrupted = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(data_path, callbacks=[show], progress=show.batches, **extra)
        except KeyboardInterrupt:
            if model.network is None:
                raise  # before training: nothing to save
            interrupted = True
        except TrainingDiverged:
            raise TrainingStopped("training diverged in the first epoch; no model saved: lower "
                                  "--lr", EXIT_DIVERGED) from None
        finally:
            show.close()
    for warning in caught:
        display.warn(str(warning.message))
    return interrupted


def stop_message(model, out):
    """What to tell the user when training diverged or was interrupted (None otherwise)."""
    report, history = model.fit_report, model.history
    if report["stopped"] == "interrupted" and "cross_fit" in report:
        done = len(report["cross_fit"])
        return (f"{signals.what()} while training network {done} of "
                f"{model.settings['cross_fit']}; saved the {done} trained so far (the last with "
                f"its best epoch) to {out}")
    epochs = len(history.epoch)
    best = report["best_epoch"]
    if best is not None:
        monitor = "val_loss" if report["rows"]["validation"] else "loss"
        kept = (f"the best model seen (epoch {best}, {monitor} "
                f"{history.history[monitor][best - 1]:.4g})")
    elif report["stopped"] == "diverged":
        kept = f"the model from the end of epoch {epochs - 1}"
    else:
        kept = "the model"
    if report["stopped"] == "diverged":
        return f"training diverged at epoch {epochs}; saved {kept} to {out}: lower --lr"
    if report["stopped"] == "interrupted":
        return f"{signals.what()} during epoch {epochs + 1}; saved {kept} to {out}"
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
    own = {name: settings.pop(name) for name in NOT_OPTIONS}
    model = fn.TabularModel(target=own["target"], task=own["task"], **settings)
    # A note only when Numba actually starts compiling, with this CPU's measured estimate.
    with compile_cache.note_compiling(display.note, settings["dtype"]):
        interrupted = fit(model, data_path, {"sep": own["sep"], "sample_weight": own["weight"],
                                             "class_weight": own["class_weight"]}, display)
    report = model.fit_report
    message = stop_message(model, out)
    model.save(out)
    if history_path:
        write_history(history_path, model.history)
    if plot_path:
        plot.write_learning_curves(plot_path, model.history.history,
                                   MAIN_METRIC[report["task"]],
                                   f"{os.path.basename(data_path)}: {report['task']}, "
                                   f"{model.settings['opt']}", report["best_epoch"])
    result = {"model": out, **{k: report[k] for k in ("task", "target", "loss", "inputs",
                                                      "rows", "epochs", "stopped",
                                                      "best_epoch")},
              "history": history_path, "plot": plot_path}
    result.update({k: report[k] for k in ("train", "validation", "threshold", "cross_fit")
                   if k in report})
    if "diagnostics" in report:
        result["diagnostics"] = diagnostics_summary(report["diagnostics"])
    code = 0
    if report["stopped"] == "diverged":
        code = EXIT_DIVERGED
    elif interrupted:
        code = signals.exit_code()
    return result, code, message


def _network_epochs(network):
    """"226 (151)": a cross-fitted network's epochs and best epoch (and "diverged" or
    "interrupted" when it stopped so)."""
    marks = [] if network["best_epoch"] is None else [str(network["best_epoch"])]
    if network["stopped"] in ("diverged", "interrupted"):
        marks.append(network["stopped"])
    return f"{network['epochs']}" + (f" ({', '.join(marks)})" if marks else "")


def show_result(result, display):
    """The final metrics table (and the gradient report with --diagnose) on stderr."""
    rows = {split: result[split] for split in ("train", "validation") if split in result}
    networks = result.get("cross_fit")
    if networks:  # the run's epochs, stop and best epoch are each network's own
        trained = f"{len(networks)} cross-fitted networks averaged"
    else:
        how = {"early_stopping": f", stopped early; best epoch {result['best_epoch']}",
               "completed": ""}.get(result["stopped"], f", {result['stopped']}")
        trained = f"{result['epochs']} epoch(s){how}"
    display.metrics_table(f"{result['task']} on {result['target']!r}: {trained}", rows)
    if networks:
        display.note("epochs run per network (best epoch): "
                     + ", ".join(map(_network_epochs, networks))
                     + "; each validated on its own fold's rows")
    if "diagnostics" in result:
        display.note(result["diagnostics"]["report"])
    if "threshold" in result:
        display.note(f"decision threshold: {result['threshold']:.4g}")
    display.note(f"saved the model to {result['model']}")
