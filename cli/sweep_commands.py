"""``fastnn cv`` and ``fastnn sweep``: k-fold cross-validation and sweeps over settings of
``fastnn train``, run by fastnn.model_selection in local processes or on a Dask cluster.

Both take train's options (the network, the optimizer, the epochs, early stopping, ...) and
write no model. Each split's preprocessing (the feature encoding, a regression target's
scaling) is fitted on its training rows only, as train does. ``sweep`` takes comma-separated
values for --opt, --activation, --dropout and --lr and tries every combination; the table is
ranked by the task's validation metric (accuracy, or R^2 for regression), and --plot draws every
run's validation curves in one figure.
"""

import functools
import os

import click

from .errors import InputError

# train's options these commands do not take: they save no model and have their own output.
NOT_TAKEN = {"out", "history", "plot", "diagnose", "as_json", "quiet"}
# train's options that sweep takes as comma-separated lists of values to try.
SWEPT = ("opt", "activation", "dropout", "lr")
EXIT_NO_RUN_FINISHED = 1


class ValueList(click.ParamType):
    """Comma-separated values, each checked by the single-value type ``item``."""

    def __init__(self, item):
        self.item = item
        self.name = f"{item.name}[,...]"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        parts = [part.strip() for part in str(value).split(",")]
        if not all(parts):
            self.fail(f"{value!r} has an empty value; give values separated by commas", param,
                      ctx)
        return list(dict.fromkeys(self.item.convert(part, param, ctx) for part in parts))


# ----------------------------------------------------------------------------- the runs
def build_run(target, n_rows, settings, *, seed, **setting):
    """The network of one run: train's model for ``settings`` with the swept ``setting`` and the
    run's ``seed`` (a module-level function, so local and Dask workers can unpickle it)."""
    from .train import build_model

    return build_model(None, n_rows, target, {**settings, **setting, "seed": seed})


class SplitEncoder:
    """``prepare`` for fastnn.model_selection: the feature encoding, and a regression target's
    scaling, fitted on a split's training rows and applied to all rows. Keeps the numbers of
    numeric values imputed and of missing categories (the largest over the splits)."""

    def __init__(self, target_name, task, loss):
        self.target_name, self.task, self.loss = target_name, task, loss
        self.imputed = self.missing_categories = 0

    def __call__(self, frame, target_series, train_rows):
        from .features import FeatureEncoder
        from .target import TargetEncoder

        features = frame.drop(columns=[self.target_name])
        encoder = FeatureEncoder.fit(features.iloc[train_rows])
        X, imputed, missing = encoder.transform(features)
        self.imputed = max(self.imputed, imputed)
        self.missing_categories = max(self.missing_categories, missing)
        fitted_on = target_series if self.task != "regression" \
            else target_series.iloc[train_rows]
        target = TargetEncoder.fit(fitted_on, self.task, self.loss)
        return X, target.encode(target_series)


def run_sweep(data, settings, grid, folds, jobs, scheduler, plot_path, display):
    """Read DATA, run every setting of ``grid`` on every split; (result dict, exit code)."""
    import fastnn as fn
    from fastnn import defaults, model_selection

    from . import target as target_mod
    from .bundle import warn_missing
    from .files import check_outputs, read_table
    from .train import batch_size_for, select_target

    check_outputs({"--plot": plot_path}, [data])
    if plot_path:
        from .plot import require_matplotlib

        require_matplotlib()
    frame, target_name = select_target(read_table(data), settings.pop("target"), display)
    target_series = frame[target_name]
    task = settings["task"]
    if task == "auto":
        task = target_mod.infer_task(target_series)
    loss = target_mod.resolve_loss(task, settings["loss"])
    metric = target_mod.MAIN_METRIC[task]
    # the network's output layer needs the classes (of every row) or the number of outputs
    structure = target_mod.TargetEncoder.fit(target_series, task, loss)
    val_split = settings.pop("val_split", None)  # cv has --folds only
    n_rows = len(frame)
    n_train = n_rows - (n_rows // folds if folds else int(round(n_rows * val_split)))
    settings.update(task=task, loss=loss)
    if settings["batch_size"] is not None:
        settings["batch_size"] = batch_size_for(settings["batch_size"], n_train)
    settings = defaults.fill(settings, n_train, task)  # options not given
    callbacks = [fn.TerminateOnNaN()]
    if settings["early_stopping"]:
        callbacks.append(fn.EarlyStopping(monitor="val_loss",
                                          patience=settings["early_stopping"]))
    encoder = SplitEncoder(target_name, task, loss)
    try:
        result = model_selection.sweep(
            functools.partial(build_run, structure, n_train, settings), frame, target_series,
            grid, cv=folds, validation_fraction=val_split,
            stratify=task != "regression", epochs=settings["epochs"],
            batch_size=settings["batch_size"], metric=metric, seed=settings["seed"],
            fit_options={"callbacks": callbacks}, prepare=encoder, n_jobs=jobs,
            scheduler=scheduler)
    except (ImportError, RuntimeError) as exc:  # no Dask here, or workers without fastnn
        raise InputError(str(exc)) from None
    warn_missing(display, encoder.imputed, encoder.missing_categories)
    if plot_path:
        write_validation_curves(plot_path, result, f"{os.path.basename(data)}: {task}, "
                                                   f"validation curves of every run")
    report = {"task": task, "target": target_name, "loss": loss, "metric": f"val_{metric}",
              "splits": len(result.splits), "plot": plot_path,
              "rows": [{"rank": row["rank"], **row["setting"], "mean": row["mean"],
                        "std": row["std"], "scores": row["scores"], "failed": row["failed"],
                        "errors": row["errors"]} for row in result.rows],
              "runs": [{key: run[key] for key in ("setting", "fold", "seed", "score", "error",
                                                  "epochs", "history")}
                       for run in result.runs],
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
        if report["plot"]:
            display.note(f"wrote the validation curves to {report['plot']}")
    failed = sum(row["failed"] for row in report["rows"])
    if failed:
        display.warn(f"{failed} run(s) failed; their errors are in the table")
    click.get_current_context().exit(code)


def _display(quiet, as_json):
    from .output import Display

    return Display(quiet=quiet or as_json, silent=quiet)


def cv_command(data, folds, jobs, scheduler, plot, as_json, quiet, **settings):
    """K-fold cross-validation of train's network on the CSV table DATA: each fold is held out
    once, and the table gives the mean and spread of the validation metric."""
    display = _display(quiet, as_json)
    report, code = run_sweep(data, settings, {}, folds, jobs, scheduler, plot, display)
    _finish(report, code, as_json, display)


def sweep_command(data, folds, jobs, scheduler, plot, as_json, quiet, **settings):
    """Train every combination of the comma-separated --opt, --activation, --dropout and --lr
    values on the CSV table DATA (a hold-out split, or --folds K) and rank them by the
    validation metric."""
    grid = {name: settings.pop(name) for name in SWEPT if settings[name] is not None}
    train = click.get_current_context().find_root().command.commands["train"]
    settings.update({p.name: _plain_default(p) for p in train.params
                     if p.name in SWEPT and p.name not in grid})
    display = _display(quiet, as_json)
    report, code = run_sweep(data, settings, grid, folds, jobs, scheduler, plot, display)
    _finish(report, code, as_json, display)


def _plain_default(option):
    """An option's default value, None where it has none (Click marks that with a sentinel)."""
    return option.default if isinstance(option.default, (str, int, float)) else None


def register_sweep_commands(group):
    """Add ``cv`` and ``sweep`` to the Click ``group``, taking train's options."""
    train = group.commands["train"]
    taken = [p for p in train.params if p.name not in NOT_TAKEN]
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
    cv_params = [p for p in taken if p.name != "val_split"] + [
        click.Option(["--folds"], type=click.IntRange(min=2), default=5, show_default=True,
                     help="Number of folds.")] + common
    group.add_command(click.Command("cv", callback=cv_command, params=cv_params,
                                    help=cv_command.__doc__))

    swept = []
    for p in taken:
        if p.name in SWEPT:
            shown = _plain_default(p)
            if shown is None:
                shown = "the optimizer's" if p.name == "lr" else "by table size, as train's"
            swept.append(click.Option(p.opts + [p.name], type=ValueList(p.type),
                                      help=f"{p.help.split('  [')[0]} Comma-separated values to "
                                           f"try.  [default: {shown}]"))
        else:
            swept.append(p)
    sweep_params = swept + [
        click.Option(["--folds"], type=click.IntRange(min=2),
                     help="Cross-validate every setting with this many folds.  [default: one "
                          "hold-out split of --val-split]")] + common
    group.add_command(click.Command("sweep", callback=sweep_command, params=sweep_params,
                                    help=sweep_command.__doc__))

