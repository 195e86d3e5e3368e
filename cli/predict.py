"""``fastnn predict`` and ``fastnn evaluate``: a saved ``fastnn.TabularModel`` applied to a new
table, with the preprocessing stored in the model file."""

import os
import sys

from .files import check_outputs, write_atomically

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a command killed by a closed pipe
# The metrics shown in evaluate's table, in order (the others are tables of their own).
SHOWN = ("loss", "accuracy", "threshold", "roc_auc", "average_precision", "precision",
         "recall", "f1", "mse", "mae", "r2")


def load(model_path):
    import fastnn

    return fastnn.TabularModel.load(model_path)


def run_predict(model_path, data_path, out, proba, keep, threshold, sep, display):
    """Write the predictions CSV to ``out`` (atomically), or to stdout when ``out`` is None or
    "-"."""
    to_stdout = out in (None, "-")
    check_outputs({"--out": None if to_stdout else out}, [model_path, data_path])
    model = load(model_path)
    table = model.predict_table(data_path, proba=proba, keep=keep, threshold=threshold, sep=sep)
    if not to_stdout:
        write_atomically(out, lambda f: table.to_csv(f, index=False))
        display.note(f"wrote {len(table)} prediction(s) to {out}")
        return
    try:
        table.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (| head): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(EXIT_BROKEN_PIPE) from None


def run_evaluate(model_path, data_path, threshold, sep):
    """{"model", "data", **TabularModel.evaluate}: the rows, the task, the loss and the
    metrics (fastnn.tabular.scores)."""
    model = load(model_path)
    return {"model": model_path, "data": data_path,
            **model.evaluate(data_path, threshold=threshold, sep=sep)}


def show_evaluation(result, display):
    """The results as tables on stdout."""
    metrics = {k: result[k] for k in SHOWN if k in result}
    display.value_table(f"{os.path.basename(result['data'])} ({result['rows']} rows, "
                        f"{result['task']})", metrics, out=display.result)
    if "per_class" in result:
        display.class_table(result["per_class"], out=display.result)
        display.confusion_table(result["confusion_matrix"], out=display.result)
