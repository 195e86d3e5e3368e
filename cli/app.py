"""The Click application behind the ``fastnn`` command.

Only click is imported here: pandas, rich and fastnn (and so Numba) are imported by the
commands when they run, so ``fastnn --help`` answers at once. Every user error, Click's own
usage errors included, is one line on stderr and exit code 2 (``errors.InputError``); Ctrl-C
and SIGTERM end a command with one line and exit code 130 or 143 (``signals``).
"""

import click

from . import options, signals
from .compile import compile_command
from .errors import InputError
from .sweep_commands import register_sweep_commands

OUT_FILE = click.Path(dir_okay=False)
IN_FILE = click.Path(dir_okay=False)


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
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(signals.exit_code()) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise InputError(exc.format_message()) from None
        except ValueError as exc:
            raise InputError(flagged(exc)) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise InputError(f"{where}{exc.strerror or exc}") from None
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(signals.exit_code())


def flagged(error):
    """A library error's message, an option named as the command names it (--val-split)."""
    named = getattr(error, "named", None)
    option = getattr(error, "option", None)
    if named is None or option is None:
        return str(error)
    return named("--" + option.replace("_", "-"))


def display_for(quiet, as_json):
    from .output import Display

    return Display(quiet=quiet or as_json, silent=quiet)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastnn", prog_name="fastnn")
def cli():
    """fastnn: train, evaluate and use neural networks on tables (CSV, compressed CSV,
    Parquet).

    \b
    fastnn train examples/iris.csv --opt rmsprop      # writes examples/iris.fnn
    fastnn evaluate examples/iris.fnn examples/iris.csv
    fastnn predict examples/iris.fnn new_rows.csv --out predictions.csv
    fastnn info examples/iris.fnn
    fastnn export examples/iris.fnn iris.onnx
    """


@cli.command()
@click.argument("data", type=IN_FILE)
@options.apply_to(options.TRAIN)
@click.option("--out", type=OUT_FILE, help="Model file to write.  [default: DATA with .fnn]")
@click.option("--history", type=OUT_FILE, help="Write the per-epoch history to this CSV file.")
@click.option("--plot", type=OUT_FILE,
              help="Write the learning curves to this PNG file (needs fastnn[plot]).")
@click.option("--budget", type=options.POSITIVE, metavar="SECONDS",
              help="Instead of one run, search the options not given (widths and depth, "
                   "dropout, L2, adam or adamw, learning rate, schedule, batch size) within "
                   "this many seconds: up to 5000 rows each trial is cross-fitted over 5 "
                   "folds and scored on them, else scored on the --val-split hold-out; save "
                   "the best trial's model.  Ctrl-C keeps the best so far.")
@click.option("--ensemble", type=click.IntRange(1, 64), default=1, show_default=True,
              metavar="K", help="With --budget: save the networks of the best K trials (at "
                                "most 64 networks) as one ensemble file that averages their "
                                "outputs.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def train(ctx, data, as_json, quiet, budget, ensemble, **settings):
    """Train a network on the table DATA and save it as a model file."""
    from . import train as job
    from .output import emit_json

    if budget is None and ensemble != 1:
        raise InputError("--ensemble needs --budget (an ensemble is the best models of a "
                         "search)")
    display = display_for(quiet, as_json)
    with display.library_messages():
        try:
            if budget is None:
                result, code, message = job.run(data, settings, display)
            else:
                from . import train_budget

                result, code, message = train_budget.run(data, settings, budget, ensemble,
                                                          display)
        except job.TrainingStopped as stop:
            click.echo(f"Error: {stop}", err=True)
            ctx.exit(stop.exit_code)
    if as_json:
        emit_json(result)
    elif budget is None:
        job.show_result(result, display)
    else:
        train_budget.show_result(result, display)
    if message:
        click.echo(f"Error: {message}" if code == job.EXIT_DIVERGED else message, err=True)
    ctx.exit(code)


THRESHOLD_HELP = ("Binary models: the score above which a row is the second class.  "
                  "[default: the one stored in the model]")
SEP_HELP = "The CSV field separator.  [default: detected among , ; tab |]"


@cli.command()
@click.argument("model", type=IN_FILE)
@click.argument("data", type=IN_FILE)
@click.option("--out", type=OUT_FILE,
              help="Write the predictions CSV here; '-' for stdout.  [default: stdout]")
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option("--keep", type=options.ColumnList(), default=(),
              help="Copy these columns of DATA (ids, say) into the predictions, first.")
@click.option("--threshold", type=options.Number(), help=THRESHOLD_HELP)
@click.option("--sep", help=SEP_HELP)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and predictions.")
def predict(model, data, out, proba, keep, threshold, sep, quiet):
    """Predict the target of every row of DATA with MODEL, in the target's own values."""
    from .predict import run_predict

    display = display_for(quiet, False)
    with display.library_messages():
        run_predict(model, data, out, proba, keep, threshold, sep, display)


@cli.command()
@click.argument("model", type=IN_FILE)
@click.argument("data", type=IN_FILE)
@click.option("--threshold", type=options.Number(), help=THRESHOLD_HELP)
@click.option("--sep", help=SEP_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and the results.")
def evaluate(model, data, threshold, sep, as_json, quiet):
    """Score MODEL on DATA, a table that has the target column; the results go to stdout."""
    from .output import emit_json
    from .predict import run_evaluate, show_evaluation

    display = display_for(quiet, as_json)
    with display.library_messages():
        result = run_evaluate(model, data, threshold, sep)
    if as_json:
        emit_json(result)
    else:
        show_evaluation(result, display)


@cli.command()
@click.argument("model", type=IN_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def info(model, as_json):
    """Show what MODEL holds (layers, settings, expected columns, fastnn version) on stdout."""
    from . import info as job
    from .output import emit_json

    description = job.describe(model)
    if as_json:
        emit_json(description)
    else:
        job.show(description, display_for(False, False))


@cli.command()
@click.argument("model", type=IN_FILE)
@click.argument("onnx_file", metavar="OUT.onnx", type=OUT_FILE)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def export(model, onnx_file, quiet):
    """Write MODEL as an ONNX file: for a model from `fastnn train`, one input per column
    (raw values, the preprocessing included) and the probabilities (or the prediction) out."""
    from .export import run_export

    run_export(model, onnx_file, display_for(quiet, False))


register_sweep_commands(cli)
cli.add_command(compile_command)


def run():
    """Run the application as the console script does."""
    cli(prog_name="fastnn")
