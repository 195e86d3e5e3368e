"""The options of ``fastnn train``, ``cv`` and ``sweep``, defined once.

Each entry of OPTIONS is one option: its flags, type, default, help text, the commands that
take it, and whether ``sweep`` takes a comma-separated list of values for it. The training
options are those of fastnn.tabular.options (same names, same defaults: a test compares them);
the commands pass them to ``fastnn.TabularModel`` or to the sweep's network builder.
"""

import json
import math

import click

from . import choices

TRAIN, CV, SWEEP = "train", "cv", "sweep"
ALL = (TRAIN, CV, SWEEP)
# The training options sweep takes as comma-separated lists of values to try.
SWEPT = ("opt", "activation", "dropout", "lr")


class Number(click.FloatRange):
    """A finite float within a range (nan and inf are refused)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class LayerSizes(click.ParamType):
    """Comma-separated positive widths of the hidden layers ("" or "none": no hidden layer)."""

    name = "widths"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        text = value.strip().lower()
        if text in ("", "none"):
            return []
        try:
            sizes = [int(part) for part in text.split(",")]
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of layer widths like 64,32",
                      param, ctx)
        if any(size < 1 for size in sizes):
            self.fail(f"layer widths must be positive, got {value!r}", param, ctx)
        return sizes


class BatchSize(click.ParamType):
    """A positive integer, or "sqrt" (the square root of the number of training rows)."""

    name = "N|sqrt"

    def convert(self, value, param, ctx):
        if value == "sqrt" or isinstance(value, int) and value >= 1:
            return value
        try:
            size = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a positive integer nor 'sqrt'", param, ctx)
        if size < 1:
            self.fail(f"{size} is not a positive integer", param, ctx)
        return size


class ColumnList(click.ParamType):
    """Comma-separated column names."""

    name = "COL[,COL]"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return tuple(value)
        names = tuple(part.strip() for part in str(value).split(","))
        if not all(names):
            self.fail(f"{value!r} has an empty column name", param, ctx)
        return names


class ClassWeight(click.ParamType):
    """"balanced", or a JSON object mapping labels to weights."""

    name = "balanced|JSON"

    def convert(self, value, param, ctx):
        if isinstance(value, dict) or value == "balanced":
            return value
        try:
            mapping = json.loads(value)
        except json.JSONDecodeError:
            mapping = None
        if not isinstance(mapping, dict):
            self.fail(f"{value!r} is neither 'balanced' nor a JSON object such as "
                      f"'{{\"yes\": 5}}'", param, ctx)
        return mapping


class Threshold(click.ParamType):
    """A finite number, or "auto"."""

    name = "T|auto"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, float):
            return value
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            self.fail(f"{value!r} is neither a finite number nor 'auto'", param, ctx)
        return number


class ValueList(click.ParamType):
    """Comma-separated values, each checked by the single-value type ``item``."""

    def __init__(self, item):
        self.item = item
        single = "F" if isinstance(item, click.FloatRange) else getattr(item, "metavar", "X")
        self.name = f"{single}[,...]"

    def listing(self):
        return self.item.listing() if hasattr(self.item, "listing") else None

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        parts = [part.strip() for part in str(value).split(",")]
        if not all(parts):
            self.fail(f"{value!r} has an empty value; give values separated by commas", param,
                      ctx)
        return list(dict.fromkeys(self.item.convert(part, param, ctx) for part in parts))


class HelpOption(click.Option):
    """An option whose help lists its type's choices (Click wraps the text)."""

    def get_help_record(self, ctx):
        record = super().get_help_record(ctx)
        listing = getattr(self.type, "listing", None)
        if record is None or listing is None or listing() is None:
            return record
        spec, text = record
        head, bracket, extra = text.partition("  [")
        return spec, f"{head} {listing()}" + (f"  [{extra}" if bracket else "")


POSITIVE = Number(min=0, min_open=True)
NON_NEGATIVE = Number(min=0)
SHARE = Number(0, 1, max_open=True)

# (flags, name, settings, commands, help). ``settings`` holds the type and the default.
OPTIONS = [
    (["--target"], "target", {}, ALL, "The column to predict.  [default: the last column]"),
    (["--task"], "task", {"type": choices.LibraryChoice(choices.task_names, ("auto",), "TASK"),
                          "default": "auto"}, ALL,
     "auto: classes for strings, booleans or integers with at most 10 values (2 classes: "
     "binary), regression otherwise."),
    (["--sep"], "sep", {}, ALL,
     "The CSV field separator.  [default: detected among , ; tab |]"),
    (["--drop"], "drop", {"type": ColumnList(), "default": ()}, ALL,
     "Columns to leave out of the features."),
    (["--high-cardinality"], "high_cardinality",
     {"type": choices.LibraryChoice(choices.high_cardinality_names, metavar="HOW"),
      "default": "drop"}, ALL,
     "String columns with more than --max-levels values, or mostly distinct values (ids, "
     "names): drop leaves them out with a warning, top keeps the most frequent values plus "
     "'other', hash one-hot encodes a hash of the value."),
    (["--max-levels"], "max_levels", {"type": click.IntRange(min=2), "default": 1000}, ALL,
     "The most values a string column may have before it counts as high-cardinality, and the "
     "width a kept one gets."),
    (["--layers"], "layers", {"type": LayerSizes()}, ALL,
     "Widths of the hidden layers, comma-separated ('' for none).  [default: 64,32 below 1000 "
     "training rows, 256,256,256 below 20000 (regression: 256,128), else 64,32]"),
    (["--activation"], "activation",
     {"type": choices.LibraryChoice(choices.hidden_activation_names), "default": "relu"}, ALL,
     "Activation of the hidden layers."),
    (["--opt"], "opt", {"type": choices.LibraryChoice(choices.optimizer_names),
                        "default": "adam"}, ALL, "Optimizer, with fastnn's defaults."),
    (["--lr"], "lr", {"type": POSITIVE}, ALL,
     "Learning rate (a schedule's initial or peak rate); by default the optimizer's."),
    (["--schedule"], "schedule", {"type": choices.LibraryChoice(choices.schedule_names),
                                  "default": "constant"}, ALL,
     "Learning-rate schedule over the run."),
    (["--clipnorm"], "clipnorm", {"type": POSITIVE}, ALL,
     "Rescale each update's gradient to a global L2 norm of at most this."),
    (["--epochs"], "epochs", {"type": click.IntRange(min=1)}, ALL,
     "The most passes over the training rows.  [default: enough for 3000 updates, at least "
     "100]"),
    (["--batch-size"], "batch_size", {"type": BatchSize()}, ALL,
     "Rows per update, or 'sqrt' for the square root of the training rows.  [default: 32]"),
    (["--loss"], "loss", {"type": choices.LibraryChoice(choices.loss_names, ("auto",)),
                          "default": "auto"}, ALL,
     "auto: bce (sigmoid output) for binary, scce (softmax) for multiclass, mse (linear) for "
     "regression."),
    (["--init"], "init", {"type": choices.LibraryChoice(choices.initializer_names, ("auto",)),
                          "default": "auto"}, ALL,
     "Kernel initializer (auto: He for ReLU, LeCun for SELU, Glorot otherwise)."),
    (["--dropout"], "dropout", {"type": SHARE}, ALL,
     "Dropout rate after each hidden layer (0: none).  [default: 0.2 below 1000 training rows, "
     "0.3 below 20000 (regression: 0.1), else 0]"),
    (["--batchnorm"], "batchnorm", {"is_flag": True}, ALL,
     "BatchNormalization between each hidden Dense layer and its activation."),
    (["--l1"], "l1", {"type": NON_NEGATIVE, "default": 0.0}, ALL,
     "L1 penalty a * sum|w| on every Dense kernel."),
    (["--l2"], "l2", {"type": NON_NEGATIVE, "default": 0.0}, ALL,
     "L2 penalty a * sum w^2 on every Dense kernel."),
    (["--val-split"], "val_split", {"type": SHARE, "default": 0.2}, (TRAIN, SWEEP),
     "Share of rows (seeded random, stratified by class) held out for validation."),
    (["--early-stopping"], "early_stopping", {"type": click.IntRange(min=0),
                                              "metavar": "PATIENCE"}, ALL,
     "Stop after this many epochs without a better validation loss (training loss without "
     "validation rows) and keep the best weights; 0: off.  [default: a tenth of the epochs, "
     "at least 10]"),
    (["--cross-fit"], "cross_fit", {"type": click.IntRange(min=1, max=64),
                                    "metavar": "K"}, (TRAIN,),
     "Cross-fitting: train this many networks, each validated (early stopping) on its own fold "
     "of the rows and trained on the others, and average them (1: one network validated on "
     "the --val-split rows).  [default: 5 below 5000 training rows, else 1]"),
    (["--threshold"], "threshold", {"type": Threshold()}, (TRAIN,),
     "Binary targets: the score above which a row is the second class, or 'auto' for the "
     "F1-best threshold on the validation rows; stored in the model.  [default: 0.5 (0 for "
     "hinge)]"),
    (["--class-weight"], "class_weight", {"type": ClassWeight()}, (TRAIN,),
     "Weigh each class's rows in the loss: 'balanced' (rows / (classes x rows of the class)) "
     "or a JSON object such as '{\"yes\": 5}'."),
    (["--weight"], "weight", {"metavar": "COLUMN"}, (TRAIN,),
     "A column of per-row weights for the loss (not a feature)."),
    (["--diagnose"], "diagnose", {"is_flag": True}, (TRAIN,),
     "Record per-layer gradient statistics and print the gradient health report."),
    (["--seed"], "seed", {"type": click.IntRange(min=0), "default": 0}, ALL,
     "Seeds the split, the initial weights and the shuffling."),
    (["--dtype"], "dtype", {"type": choices.LibraryChoice(choices.fixed("float32", "float64"),
                                                          metavar="TYPE"),
                            "default": "float32"}, ALL, "The network's floating-point type."),
    (["--device"], "device", {"type": choices.LibraryChoice(choices.device_names),
                              "default": "cpu"}, ALL,
     "Where training runs (cuda: an NVIDIA GPU, with fastnn[cuda])."),
]


def options_for(command):
    """The Click options of ``command`` (train, cv or sweep), in OPTIONS's order."""
    made = []
    for flags, name, settings, commands, help_text in OPTIONS:
        if command not in commands:
            continue
        settings = dict(settings)
        if command == SWEEP and name in SWEPT:
            head, _, extra = help_text.partition("  [")
            shown = f"  [default: {settings['default']}]" if "default" in settings else (
                f"  [{extra}" if extra else "")
            made.append(HelpOption(flags + [name], type=ValueList(settings["type"]),
                                   help=f"{head} Comma-separated values to try.{shown}"))
            continue
        if isinstance(settings.get("type"), click.FloatRange):
            settings.setdefault("metavar", "F")
        elif isinstance(settings.get("type"), click.IntRange):
            settings.setdefault("metavar", "N")
        settings.setdefault("show_default", "default" in settings and not settings.get(
            "is_flag") and settings["default"] != ())
        made.append(HelpOption(flags + [name], help=help_text, **settings))
    return made


def apply_to(command):
    """A decorator adding ``command``'s options to a Click command function, in OPTIONS's
    order, where the decorator stands among the others."""
    def decorate(function):
        params = function.__dict__.setdefault("__click_params__", [])
        params.extend(reversed(options_for(command)))
        return function

    return decorate
