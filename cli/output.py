"""What the CLI shows people and scripts.

People get a progress bar, warnings and tables on stderr (rich); scripts that pass ``--json`` get
exactly one JSON object on stdout and no progress or tables (warnings still go to stderr).
``--quiet`` silences everything but errors.
"""

import json
import math

import click

# The values shown in the training progress bar, and their short labels there.
PROGRESS_KEYS = {"loss": "loss", "val_loss": "val_loss", "accuracy": "acc",
                 "val_accuracy": "val_acc", "r2": "r2", "val_r2": "val_r2"}


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


class Display:
    """Human output on stderr: ``show`` (tables, text) and ``progress`` unless ``quiet``;
    ``warn`` unless ``silent`` (--quiet)."""

    def __init__(self, quiet=False, silent=False):
        from rich.console import Console

        self.quiet = quiet or silent
        self.silent = silent
        self.console = Console(stderr=True, highlight=False)

    def warn(self, message):
        if not self.silent:
            self.console.print(f"warning: {message}", markup=False, soft_wrap=True)

    def note(self, message):
        if not self.quiet:
            self.console.print(message, markup=False, soft_wrap=True)

    def show(self, renderable):
        if not self.quiet:
            self.console.print(renderable)

    def progress(self, epochs):
        """A context manager giving ``update(epoch, values)``: one bar over the epochs."""
        return _EpochBar(self.console if not self.quiet else None, epochs)

    def metrics_table(self, title, rows):
        """A table with one row per data split (``rows``: {split: {metric: value}})."""
        from rich.table import Table

        columns = []
        for values in rows.values():
            columns += [k for k in values if k not in columns]
        self.note(title)
        table = Table()
        table.add_column("")
        for name in columns:
            table.add_column(name, justify="right")
        for split, values in rows.items():
            table.add_row(split, *(format_value(values.get(k)) for k in columns))
        self.show(table)

    def class_table(self, per_class):
        """Per-class precision, recall and support ({label: {...}})."""
        from rich.table import Table

        self.note("per class")
        table = Table()
        for name, justify in (("class", "left"), ("precision", "right"), ("recall", "right"),
                              ("support", "right")):
            table.add_column(name, justify=justify)
        for label, row in per_class.items():
            table.add_row(str(label), format_value(row["precision"]),
                          format_value(row["recall"]), str(row["support"]))
        self.show(table)


class _EpochBar:
    def __init__(self, console, epochs):
        self.console, self.epochs = console, epochs
        self.bar = None

    def __enter__(self):
        if self.console is not None:
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
        if self.bar is not None:
            self.bar.update(self.task, completed=epoch + done / total)

    def update(self, epoch, values):
        if self.bar is not None:
            shown = " ".join(f"{label} {values[key]:.3f}"
                             for key, label in PROGRESS_KEYS.items() if key in values)
            self.bar.update(self.task, completed=epoch + 1, values=shown)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False
