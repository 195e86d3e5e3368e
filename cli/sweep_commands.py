"""``fastnn cv`` and ``fastnn sweep``: k-fold cross-validation and sweeps over settings of
``fastnn train``, run by fastnn.model_selection in local processes or on a Dask cluster.

Both take train's options (cli/options.py: the network, the optimizer, the epochs, early
stopping, ...) and write no model. The networks come from fastnn.tabular.options.build_network
(the builder ``train`` uses); each split's preprocessing (the feature encoding, a regression
target's scaling) is fitted on its training rows only, as train does; the hold-out split is
model_selection.make_splits, as in train, so the same --seed holds out the same rows.
``sweep`` takes comma-separated values for --opt, --activation, --dropout and --lr and tries
every combination; the table is ranked by the task's validation metric (accuracy, or R^2 for
regression), and --plot draws every run's validation curves in one figure.
"""

import functools
import os

import click

from . import options as cli_options
from .errors import InputError

EXIT_NO_RUN_FINISHED = 1
# cv and sweep's own settings; the others are training options.
NOT_OPTIONS = ("target", "task", "sep")


# ----------------------------------------------------------------------------- the runs
def build_run(target, n_rows, options, *, seed, **setting):
    """The network of one run: train's network for ``options`` with the swept ``setting`` and
    the run's ``seed`` (a module-level function, so local and Dask workers can unpickle it)."""
    from fastnn.tabular.options import build_network

    return build_network(options.replace(**setting), target, n_rows, seed=seed)


class SplitEncoder:
    """``prepare`` for fastnn.model_selection: the feature encoding, and a regression target's
    scaling, fitted on a split's training rows and applied to all rows. Keeps the numbers of
    numeric values imputed and of missing categories (the largest over the splits)."""

    def __init__(self, target_name, task, loss, options):
        self.target_name, self.task, self.loss = target_name, task, loss
        self.options = options
        self.imputed = self.missing_categories = 0

    def __call__(self, frame, y, train_rows):
        from fastnn.tabular.columns import FeatureEncoder
        from fastnn.tabular.target import TargetEncoder

        options = self.options
        encoder = FeatureEncoder.fit(frame.iloc[train_rows].drop(columns=[self.target_name]),
                                     options.high_cardinality, options.max_levels,
                                     options.drop)
        X, imputed, missing = encoder.transform(frame, options.dtype)
        self.imputed = max(self.imputed, imputed)
        self.missing_categories = max(self.missing_categories, missing)
        target_series = frame[self.target_name]
        fitted_on = target_series if self.task != "regression" \
            else target_series.iloc[train_rows]
        target = TargetEncoder.fit(fitted_on, self.task, self.loss)
        return X, target.encode(target_series)


def run_sweep(data, settings, grid, folds, jobs, scheduler, plot_path, display):
    """Read DATA, run every setting of ``grid`` on every split; (result dict, exit code)."""
    import fastnn as fn
    from fastnn import model_selection, tasks
    from fastnn.tabular import fitting
    from fastnn.tabular.options import TrainOptions
    from fastnn.tabular.tables import read_table
    from fastnn.tabular.target import TargetEncoder

    from .files import check_outputs

    check_outputs({"--plot": plot_path}, [data])
    if plot_path:
        from .plot import require_matplotlib

        require_matplotlib()
    own = {name: settings.pop(name) for name in NOT_OPTIONS}
    val_split = settings.pop("val_split", None)  # cv has --folds only
    options = TrainOptions(**{k: v for k, v in settings.items() if v is not None})
    frame = fitting.drop_columns(read_table(data, own["sep"]), options.drop)
    frame, target_name, _ = fitting.select_target(frame, own["target"])
    target_series = frame[target_name]
    task = own["task"] if own["task"] != "auto" else tasks.guess_task(target_series)
    loss = tasks.resolve_loss(task, options.loss)
    metric = tasks.MAIN_METRIC[task]
    # the network's output layer needs the classes (of every row) or the number of outputs
    structure = TargetEncoder.fit(target_series, task, loss)
    labels = target_series if task == "regression" else structure.codes(target_series)
    n_rows = len(frame)
    n_train = n_rows - (n_rows // folds if folds else int(round(n_rows * val_split)))
    options, _ = options.resolved(n_train, task, options.seed)
    callbacks = [fn.TerminateOnNaN()]
    if options.early_stopping:
        callbacks.append(fn.EarlyStopping(monitor="val_loss", patience=options.early_stopping))
    encoder = SplitEncoder(target_name, task, loss, options)
    try:
        result = model_selection.sweep(
            functools.partial(build_run, structure, n_train, options), frame, labels, grid,
            cv=folds,
            validation_fraction=val_split, stratify=task != "regression",
            epochs=options.epochs, batch_size=options.batch_size, metric=metric,
            seed=options.seed, fit_options={"callbacks": callbacks}, prepare=encoder,
            n_jobs=jobs, scheduler=scheduler)
    except (ImportError, RuntimeError) as exc:  # no Dask here, or workers without fastnn
        raise InputError(str(exc)) from None
    if encoder.imputed:
        display.warn(f"filled {encoder.imputed} missing numeric value(s) with the training "
                     f"median")
    if encoder.missing_categories:
        display.warn(f"{encoder.missing_categories} missing categorical value(s) encoded as all "
                     f"zeros")
    if plot_path:
        write_validation_curves(plot_path, result, f"{os.path.basename(data)}: {task}, "
                                                   f"validation curves of every run")
    report = {"task": task, "target": target_name, "loss": loss, "metric": f"val_{metric}",
              "splits": len(result.splits), "plot": plot_path,
              "rows": [{"rank": row["rank"], **row["setting"], "mean": row["mean"],
                        "std": row["std"], "scores": row["scores"], "failed": row["failed"],
                        "errors": row["errors"]} for row in result.rows],
              "runs": [{key: run[key] for key in ("setting", "fold", "seed", "score", "error",
                                                  "epochs", "history", "worker",
                                                  "compile_seconds")}
                       for run in result.runs],
              "compile_seconds": result.compile_seconds,
              "table": result.table()}
    finished = sum(row["runs"] - row["failed"] for row in result.rows)
    return report, 0 if finished else EXIT_NO_RUN_FINISHED


def write_validation_curves(path, result, title):
    """One PNG: the validation loss and metric of every run per epoch, one colour per setting."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from .files import write_atomically

    settings = [row["setting"] for row in result.rows]
    colours = matplotlib.colormaps["tab10" if len(settings) <= 10 else "tab20"]
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, key in zip(fig.subplots(1, 2), ("val_loss", f"val_{result.metric}")):
        labelled = set()
        for run in result.runs:
            values = run["history"].get(key, [])
            index = settings.index(run["setting"])
            label = ", ".join(f"{k}={v}" for k, v in run["setting"].items()) or "run"
            ax.plot(range(1, len(values) + 1), values, color=colours(index % colours.N),
                    alpha=0.8, linewidth=1.2, label=None if index in labelled else label)
            labelled.add(index)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize="small")
    fig.suptitle(title)
    write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=110), mode="wb")


# ----------------------------------------------------------------------------- the commands
def _finish(report, code, as_json, display):
    from .output import emit_json

    if as_json:
        emit_json(report)
    else:
        folds = f"{report['splits']} fold(s)" if report["splits"] > 1 else "one hold-out split"
        display.note(f"{report['task']} on {report['target']!r}, {folds}, ranked by "
                     f"{report['metric']}:")
        display.note(report["table"])
        compiling = {w: s for w, s in report["compile_seconds"].items() if s > 0}
        if compiling:
            display.note("compiling fastnn's kernels took " + ", ".join(
                f"{s:.1f} s on {w}" for w, s in compiling.items()))
        if report["plot"]:
            display.note(f"wrote the validation curves to {report['plot']}")
    failed = sum(row["failed"] for row in report["rows"])
    if failed:
        display.warn(f"{failed} run(s) failed; their errors are in the table")
    click.get_current_context().exit(code)


def _run(data, settings, grid, folds, jobs, scheduler, plot, as_json, quiet):
    from .output import Display

    display = Display(quiet=quiet or as_json, silent=quiet)
    with display.library_messages():
        report, code = run_sweep(data, settings, grid, folds, jobs, scheduler, plot, display)
    _finish(report, code, as_json, display)


def cv_command(data, folds, jobs, scheduler, plot, as_json, quiet, **settings):
    """K-fold cross-validation of train's network on the table DATA: each fold is held out
    once, and the table gives the mean and spread of the validation metric."""
    _run(data, settings, {}, folds, jobs, scheduler, plot, as_json, quiet)


def sweep_command(data, folds, jobs, scheduler, plot, as_json, quiet, **settings):
    """Train every combination of the comma-separated --opt, --activation, --dropout and --lr
    values on the table DATA (a hold-out split, or --folds K) and rank them by the validation
    metric."""
    grid = {name: settings.pop(name) for name in cli_options.SWEPT
            if settings[name] is not None}
    _run(data, settings, grid, folds, jobs, scheduler, plot, as_json, quiet)


def register_sweep_commands(group):
    """Add ``cv`` and ``sweep`` to the Click ``group``."""
    common = [
        click.Option(["--jobs", "jobs"], type=click.IntRange(min=1),
                     help="Local processes, one run each at a time.  [default: every core]"),
        click.Option(["--scheduler"], metavar="tcp://HOST:PORT",
                     help="Run on this Dask cluster instead (needs fastnn[dist]).  [default: "
                          "$FASTNN_DASK_SCHEDULER, else local processes]"),
        click.Option(["--plot"], type=click.Path(dir_okay=False),
                     help="Write every run's validation curves to this PNG file (needs "
                          "fastnn[plot])."),
        click.Option(["--json", "as_json"], is_flag=True,
                     help="Print one JSON object on stdout."),
        click.Option(["--quiet", "-q"], is_flag=True, help="Print nothing but errors."),
    ]
    def data():
        return click.Argument(["data"], type=click.Path(dir_okay=False))

    cv_params = [data()] + cli_options.options_for(cli_options.CV) + [
        click.Option(["--folds"], type=click.IntRange(min=2), default=5, show_default=True,
                     help="Number of folds.")] + common
    group.add_command(click.Command("cv", callback=cv_command, params=cv_params,
                                    help=cv_command.__doc__))
    sweep_params = [data()] + cli_options.options_for(cli_options.SWEEP) + [
        click.Option(["--folds"], type=click.IntRange(min=2),
                     help="Cross-validate every setting with this many folds.  [default: one "
                          "hold-out split of --val-split]")] + common
    group.add_command(click.Command("sweep", callback=sweep_command, params=sweep_params,
                                    help=sweep_command.__doc__))
