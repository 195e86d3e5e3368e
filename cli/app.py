"""The Click application behind the ``fastnn`` command.

Only click is imported here: pandas, rich and fastnn (and so Numba) are imported by the
commands when they run, so ``fastnn --help`` answers at once. Every user error, Click's own
usage errors included, is one line on stderr and exit code 2 (``errors.InputError``).
"""

import click

from .choices import (LibraryChoice, activation_names, device_names, initializer_names,
                      optimizer_names, schedule_names)
from .compile import compile_command
from .errors import EXIT_INTERRUPTED, InputError
from .sweep_commands import register_sweep_commands
from .target import LOSSES, TASKS


class App(click.Group):
    """A Click group whose errors are one line: usage errors lose the usage text, and the
    library's ValueError (its bad-input error) and OS errors become InputError."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise InputError(exc.format_message()) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise InputError(exc.format_message()) from None
        except ValueError as exc:
            raise InputError(str(exc)) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise InputError(f"{where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)


class LayerSizes(click.ParamType):
    """Comma-separated positive widths of the hidden layers ("" or "none": no hidden layer)."""

    name = "widths"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
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


POSITIVE = click.FloatRange(min=0, min_open=True)
OUT_FILE = click.Path(dir_okay=False)
IN_FILE = click.Path(dir_okay=False)


def display_for(quiet, as_json):
    from .output import Display

    return Display(quiet=quiet or as_json, silent=quiet)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastnn", prog_name="fastnn")
def cli():
    """fastnn: train, evaluate and use neural networks on CSV tables.

    \b
    fastnn train examples/iris.csv --opt rmsprop      # writes examples/iris.fnn
    fastnn evaluate examples/iris.fnn examples/iris.csv
    fastnn predict examples/iris.fnn new_rows.csv --out predictions.csv
    fastnn info examples/iris.fnn
    """


@cli.command()
@click.argument("data", type=IN_FILE)
@click.option("--target", help="The column to predict.  [default: the last column]")
@click.option("--task", type=click.Choice(("auto",) + TASKS), default="auto", show_default=True,
              help="auto: classification for strings, booleans or a few integer values "
                   "(2 classes: binary), regression otherwise.")
@click.option("--layers", type=LayerSizes(),
              help="Widths of the hidden layers, comma-separated ('' for none).  [default: "
                   "64,32 below 1000 training rows, 256,256,256 below 20000 (regression: "
                   "256,128), else 64,32]")
@click.option("--activation", type=LibraryChoice(activation_names), default="relu",
              show_default=True, help="Activation of the hidden layers.")
@click.option("--opt", "opt", type=LibraryChoice(optimizer_names), default="adam",
              show_default=True, help="Optimizer (fastnn's optimizer names).")
@click.option("--lr", type=POSITIVE,
              help="Learning rate (a schedule's initial or peak rate).  [default: the "
                   "optimizer's]")
@click.option("--schedule", type=LibraryChoice(schedule_names), default="constant",
              show_default=True,
              help="Learning-rate schedule over the run (fastnn's schedule names).")
@click.option("--clipnorm", type=POSITIVE,
              help="Rescale each update's gradient to a global L2 norm of at most this.")
@click.option("--epochs", type=click.IntRange(min=1),
              help="Passes over the training rows (at most, with early stopping).  [default: "
                   "enough for 3000 updates, at least 100]")
@click.option("--batch-size", type=BatchSize(),
              help="Rows per update, or 'sqrt' for the square root of the training rows.  "
                   "[default: 32]")
@click.option("--loss", type=click.Choice(("auto",) + LOSSES), default="auto", show_default=True,
              help="auto: bce (sigmoid output) for binary, scce (softmax) for multiclass, "
                   "mse (linear) for regression.")
@click.option("--init", type=LibraryChoice(initializer_names, extra=("auto",)), default="auto",
              show_default=True, help="Kernel initializer (auto: He for ReLU, Glorot otherwise).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True),
              help="Dropout rate after each hidden layer (0: none).  [default: 0.2 below 1000 "
                   "training rows, 0.3 below 20000 (regression: 0.1), else 0]")
@click.option("--batchnorm", is_flag=True,
              help="BatchNormalization between each hidden Dense layer and its activation.")
@click.option("--l1", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="L1 penalty a * sum|w| on every Dense kernel.")
@click.option("--l2", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="L2 penalty a * sum w^2 on every Dense kernel.")
@click.option("--val-split", type=click.FloatRange(0, 1, max_open=True), default=0.2,
              show_default=True, help="Share of rows (seeded random) held out for validation.")
@click.option("--early-stopping", type=click.IntRange(min=0), metavar="PATIENCE",
              help="Stop after this many epochs without a better val_loss (loss with "
                   "--val-split 0) and keep the best weights; 0: off.  [default: a tenth of "
                   "the epochs, at least 10]")
@click.option("--diagnose", is_flag=True,
              help="Record per-layer gradient statistics and print the gradient health report.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds the split, the initial weights and the shuffling.")
@click.option("--dtype", type=click.Choice(("float32", "float64")), default="float32",
              show_default=True)
@click.option("--device", type=LibraryChoice(device_names), default="cpu", show_default=True,
              help="Where training runs (cuda: an NVIDIA GPU, with fastnn[cuda]).")
@click.option("--out", type=OUT_FILE, help="Model file to write.  [default: DATA with .fnn]")
@click.option("--history", type=OUT_FILE, help="Write the per-epoch history to this CSV file.")
@click.option("--plot", type=OUT_FILE,
              help="Write the learning curves to this PNG file (needs fastnn[plot]).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def train(ctx, data, as_json, quiet, **settings):
    """Train a network on the CSV table DATA and save it as a model file.

    Options not given take defaults chosen by the table's number of training rows (the model
    file records the values used); docs/defaults.md gives the rule and the study behind it."""
    from . import train as job
    from .output import emit_json

    display = display_for(quiet, as_json)
    try:
        result, code, message = job.run(data, settings, display)
    except job.TrainingStopped as stop:
        click.echo(f"Error: {stop}", err=True)
        ctx.exit(stop.exit_code)
    if as_json:
        emit_json(result)
    else:
        job.show_result(result, display)
    if message:
        click.echo(f"Error: {message}" if code == job.EXIT_DIVERGED else message, err=True)
    ctx.exit(code)


@cli.command()
@click.argument("model", type=IN_FILE)
@click.argument("data", type=IN_FILE)
@click.option("--out", type=OUT_FILE, help="Write the predictions CSV here.  [default: stdout]")
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and predictions.")
def predict(model, data, out, proba, quiet):
    """Predict the target of every row of DATA with MODEL, in the target's own values."""
    from .predict import run_predict

    run_predict(model, data, out, proba, display_for(quiet, False))


@cli.command()
@click.argument("model", type=IN_FILE)
@click.argument("data", type=IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def evaluate(model, data, as_json, quiet):
    """Score MODEL on DATA, a CSV table that has the target column."""
    from .output import emit_json
    from .predict import run_evaluate, show_evaluation

    display = display_for(quiet, as_json)
    result = run_evaluate(model, data, display)
    if as_json:
        emit_json(result)
    else:
        show_evaluation(result, display)


@cli.command()
@click.argument("model", type=IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def info(model, as_json):
    """Show what MODEL holds: layers, settings, expected columns, fastnn version."""
    from . import info as job
    from .output import emit_json

    description = job.describe(model)
    if as_json:
        emit_json(description)
    else:
        job.show(description, display_for(False, False))


register_sweep_commands(cli)
cli.add_command(compile_command)


def main():
    """The console script ``fastnn``."""
    cli(prog_name="fastnn")
