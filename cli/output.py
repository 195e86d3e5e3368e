"""What the CLI shows people and scripts.

- stdout holds results: the tables of ``evaluate`` and ``info``, predictions (``predict``
  without ``--out``, or ``--out -``), and with ``--json`` exactly one JSON object.
- stderr holds everything else: progress, warnings, notes ("saved the model to ..."), train's
  final table and errors. The library's messages (logger "fastnn") arrive here too: warnings as
  ``warning: ...``, information as notes.
- On a terminal the progress is a bar; elsewhere (a pipe, a log file, CI) one line per epoch at
  most every PROGRESS_INTERVAL seconds, and the last epoch's line.
- ``--quiet`` silences everything but errors and results; ``--json`` silences progress and
  tables (warnings still go to stderr).
"""

import contextlib
import json
import logging
import math
import time

import click

# The values shown in the training progress, and their short labels there.
PROGRESS_KEYS = {"loss": "loss", "val_loss": "val_loss", "accuracy": "acc",
                 "val_accuracy": "val_acc", "r2": "r2", "val_r2": "val_r2"}
PROGRESS_INTERVAL = 5.0


def plain(value):
    """``value`` with numpy scalars as Python numbers and non-finite floats as None (JSON null)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit_json(obj):
    click.echo(json.dumps(plain(obj)))


def format_value(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    return str(value)


class _ToDisplay(logging.Handler):
    """Shows each distinct message once (a sweep fits the same encoding on every split)."""

    def __init__(self, display):
        super().__init__(logging.INFO)
        self.display = display
        self.seen = set()

    def emit(self, record):
        message = record.getMessage()
        if message in self.seen:
            return
        self.seen.add(message)
        if record.levelno >= logging.WARNING:
            self.display.warn(message)
        else:
            self.display.note(message)


class Display:
    """Human output: ``note``, ``show`` and ``progress`` on stderr unless ``quiet``; ``warn``
    unless ``silent`` (--quiet); ``result`` on stdout."""

    def __init__(self, quiet=False, silent=False):
        from rich.console import Console

        self.quiet = quiet or silent
        self.silent = silent
        self.console = Console(stderr=True, highlight=False)
        self.stdout = Console(highlight=False)

    def warn(self, message):
        if not self.silent:
            self.console.print(f"warning: {message}", markup=False, soft_wrap=True)

    def note(self, message):
        if not self.quiet:
            self.console.print(message, markup=False, soft_wrap=True)

    def show(self, renderable):
        if not self.quiet:
            self.console.print(renderable, markup=False, soft_wrap=isinstance(renderable, str))

    def result(self, renderable):
        """A result (text or a table) on stdout."""
        self.stdout.print(renderable, markup=False, soft_wrap=isinstance(renderable, str))

    @contextlib.contextmanager
    def library_messages(self):
        """Route the logger "fastnn" here while the block runs."""
        logger = logging.getLogger("fastnn")
        handler = _ToDisplay(self)
        saved = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved[0])
            logger.propagate = saved[1]

    def progress(self, epochs):
        """A context manager giving ``update(epoch, values)`` and ``batches``."""
        if self.quiet:
            return _Silent()
        if self.console.is_terminal:
            return _EpochBar(self.console, epochs)
        return _EpochLines(self.console, epochs)

    def metrics_table(self, title, rows, out=None):
        """A table with one row per data split (``rows``: {split: {metric: value}}), on stderr
        or, with ``out=self.result``, on stdout."""
        from rich.table import Table

        columns = []
        for values in rows.values():
            columns += [k for k in values if k not in columns]
        (out or self.show)(title)
        table = Table()
        table.add_column("")
        for name in columns:
            table.add_column(name, justify="right")
        for split, values in rows.items():
            table.add_row(split, *(format_value(values.get(k)) for k in columns))
        (out or self.show)(table)

    def value_table(self, title, values, out=None):
        """A two-column table: one row per metric ({metric: value})."""
        from rich.table import Table

        (out or self.show)(title)
        table = Table()
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in values.items():
            table.add_row(name, format_value(value))
        (out or self.show)(table)

    def class_table(self, per_class, out=None):
        """Per-class precision, recall, F1 and support ({label: {...}})."""
        from rich.table import Table

        (out or self.show)("per class")
        table = Table()
        names = ("precision", "recall", "f1", "support")
        table.add_column("class")
        for name in names:
            table.add_column(name, justify="right")
        for label, row in per_class.items():
            table.add_row(str(label), *(format_value(row.get(n)) for n in names))
        (out or self.show)(table)

    def confusion_table(self, confusion, out=None):
        """The confusion matrix: rows the actual classes, columns the predicted ones."""
        from rich.table import Table

        (out or self.show)("confusion matrix (rows: actual, columns: predicted)")
        table = Table()
        table.add_column("")
        for label in confusion["labels"]:
            table.add_column(str(label), justify="right")
        for label, counts in zip(confusion["labels"], confusion["matrix"]):
            table.add_row(str(label), *map(str, counts))
        (out or self.show)(table)


def progress_text(values):
    return " ".join(f"{label} {values[key]:.3f}" for key, label in PROGRESS_KEYS.items()
                    if key in values)


class _Silent:
    def __enter__(self):
        return self

    def batches(self, epoch, done, total):
        pass

    def update(self, epoch, values):
        pass

    def __exit__(self, *exc):
        return False


class _EpochLines(_Silent):
    """One line per epoch at most every PROGRESS_INTERVAL seconds, and the last epoch's."""

    def __init__(self, console, epochs):
        self.console, self.epochs = console, epochs
        self.shown = self.pending = None
        self.last = -math.inf

    def update(self, epoch, values):
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL or epoch + 1 == self.epochs:
            self._print(epoch, values)
            self.last, self.pending = now, None
        else:
            self.pending = epoch, values  # the line is made only if it is printed

    def _print(self, epoch, values):
        self.console.print(f"epoch {epoch + 1}/{self.epochs}: {progress_text(values)}",
                           markup=False, soft_wrap=True)

    def __exit__(self, *exc):
        if self.pending is not None:
            self._print(*self.pending)
        return False


class _EpochBar(_Silent):
    def __init__(self, console, epochs):
        self.console, self.epochs = console, epochs

    def __enter__(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)

        self.bar = Progress(MofNCompleteColumn(), BarColumn(bar_width=10),
                            TextColumn("{task.fields[values]}"), TimeElapsedColumn(),
                            console=self.console, transient=False)
        self.bar.__enter__()
        self.task = self.bar.add_task("train", total=self.epochs, values="")
        return self

    def batches(self, epoch, done, total):
        """fit's ``progress`` hook: the bar moves within an epoch too."""
        self.bar.update(self.task, completed=epoch + done / total)

    def update(self, epoch, values):
        self.bar.update(self.task, completed=epoch + 1, values=progress_text(values))

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)
        return False
