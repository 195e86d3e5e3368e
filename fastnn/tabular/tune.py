"""The time-budget search of ``TabularModel.tune`` and ``fastnn.tune`` (``fastnn train
--budget``): training options tried one after another within a wall-clock budget, the best
kept (or the best few averaged as an ensemble).

Candidates: trial 1 is the options as given (fastnn.defaults fills what is left None); every
later trial draws, from ``np.random.default_rng([seed, 13])``, a value for each searched option
(SPACE) that the caller left at its default; options set to anything else stay fixed. The same
seed gives the same candidates in the same order; how many of them run depends on the budget.

Validation: each trial is one ``TabularModel.fit`` of the whole table and is scored by that
fit's validation. On a table of at most KFOLD_MAX_ROWS rows (with a target value) the fit is
cross-fitted over FOLDS folds (``cross_fit`` FOLDS unless given; one fold per row below FOLDS
rows): a network per fold, trained on the other folds and early-stopped on its own, stratified
by class, so the score is the networks' accuracy (or r2) on their own folds, every row scored
once, and the trial's model is the average of its networks: the finalists need no fit of their
own. A larger table trains one network (``cross_fit`` 1 unless given) and scores it on the
``val_split`` hold-out (HOLDOUT when that is 0). Ties go to the lower validation loss. All
fits share the seed, so they see the same folds and the same preprocessing (fitted on every
row), and the best trials' models can be averaged: ``ensemble`` K keeps the best K trials'
networks together (as many of them as a model file holds, MAX_MEMBERS networks).

Time: the budget runs from the call. A candidate is skipped (and the next one drawn) when its
estimated length would take it past the deadline. The estimate is the candidate's work (its
networks x epochs x training rows per network x multiply-adds per row) times the least seconds
per unit of work of the trials so far. A fit still running at the deadline stops after its
current epoch, keeping its best weights (a cross-fitted fit's later networks then stop after
their first epoch). Trial 1 always runs, so the call takes at most the budget plus about one
trial's length. A trial cut by the deadline counts only when no trial ran its course.

Ctrl-C (KeyboardInterrupt) ends the search: the model keeps the best trials' models so far
(or the networks of the fit it interrupted, when no trial had finished), and the interrupt is
raised again, as TabularModel.fit does.
"""

import contextlib
import copy
import logging
import math
import os
import time

import numpy as np

from ..callbacks import Callback
from ..model_schema import MAX_MEMBERS
from .options import OptionError, TrainOptions, _fail, _integer, _number

KFOLD_MAX_ROWS = 5000
FOLDS = 5
HOLDOUT = 0.2
MAX_SKIPS = 100  # candidates drawn in a row that would not finish before the search ends
# The searched options: what a candidate may draw for each.
SPACE = {
    "layers": [(w,) * d for d in (1, 2, 3, 4) for w in (64, 128, 256, 512)],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.5],
    "l2": [0.0, 1e-5, 1e-4, 1e-3],
    "opt": ["adam", "adamw"],
    "lr": (3e-4, 1e-2),  # drawn log-uniformly, rounded to 2 significant digits
    "schedule": ["constant", "cosine_decay", "one_cycle"],
    "batch_size": [32, 64, 128, 256],
}


def candidates(seed, options):
    """The candidates' options, in trial order (an endless generator): ``options`` first, then
    ``options`` with every searched option left at its default drawn (module docstring)."""
    defaults = TrainOptions()
    free = [name for name in SPACE if getattr(options, name) == getattr(defaults, name)]
    yield options
    rng = np.random.default_rng([seed, 13])
    while True:
        drawn = {}
        for name in SPACE:  # every draw is made, so fixing one option does not move the rest
            choices = SPACE[name]
            if name == "lr":
                value = float(f"{math.exp(rng.uniform(*np.log(choices))):.2g}")
            else:
                value = choices[int(rng.integers(len(choices)))]
            if name in free:
                drawn[name] = value
        yield options.replace(**drawn)


class Deadline(Callback):
    """Stops training at the end of the first epoch that ends at or after ``limit()`` (a
    time.monotonic() value); ``reached`` says whether it did."""

    def __init__(self, limit):
        super().__init__()
        self.limit, self.reached = limit, False

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() >= self.limit():
            self.reached = True
            self.model.stop_training = True


class Trial:
    """One candidate's run: its options, score (main metric, loss), seconds, whether the
    deadline cut it, and its fitted model."""

    def __init__(self, number, options):
        self.number, self.options = number, options
        self.metric = self.loss = None
        self.seconds, self.cut, self.model = 0.0, False, None
        self.error = None

    def key(self):
        """Sort key, best first: the higher metric (None last), then the lower loss."""
        metric = -math.inf if self.metric is None else self.metric
        return (-metric, math.inf if self.loss is None else self.loss)

    def record(self, base):
        return {"trial": self.number, "options": changed_options(self.options, base),
                "score": self.metric,
                "loss": self.loss, "seconds": round(self.seconds, 3), "cut": self.cut,
                "error": self.error}


class Search:
    """One run of the search for ``model`` (a TabularModel, filled in by ``run``)."""

    def __init__(self, model, budget, ensemble, max_trials, progress, fit_args):
        budget = _number("budget", budget, low=0, low_open=True)
        ensemble = _integer("ensemble", ensemble, 1)
        if ensemble > MAX_MEMBERS:
            _fail("ensemble", f"an integer in [1, {MAX_MEMBERS}]", ensemble)
        if max_trials is not None:
            max_trials = _integer("max_trials", max_trials, 1)
        if not isinstance(fit_args.get("sample_weight"), (str, type(None))):
            raise OptionError("sample_weight", "{option} must be a column name when tuning")
        self.model, self.budget, self.ensemble = model, budget, ensemble
        self.max_trials, self.progress, self.fit_args = max_trials, progress, fit_args
        self.trials, self.interrupted_model = [], None
        self.skipped, self.widths = 0, None
        self.start = self.deadline = None

    # ------------------------------------------------------------------ fitting
    def run_trial(self, trial):
        """Fit and score ``trial``. A drawn trial whose loss diverges in its first epoch, or
        whose options the network rejects (a schedule too short for its run, ...), gets no
        score and no model, and the search goes on; trial 1's errors (the options given) are
        raised."""
        from .fitting import TrainingDiverged
        from .model import TabularModel

        started = time.monotonic()
        fitted = TabularModel(target=self.name, task=self.task)
        fitted.options = trial.options
        deadline = Deadline(lambda: self.deadline)
        try:
            fitted.fit(self.frame, callbacks=[deadline], **self.fit_args)
            summary = fitted.fit_report["validation"]
            trial.metric, trial.loss = summary[self.metric], summary["loss"]
            trial.model, trial.cut = fitted, deadline.reached
        except KeyboardInterrupt:
            self.interrupted_model = fitted if fitted.network is not None else None
            raise
        except (TrainingDiverged, ValueError) as exc:
            if trial.number == 1 and not isinstance(exc, TrainingDiverged):
                raise
            trial.metric = trial.loss = trial.model = None
            trial.error = str(exc)
        trial.seconds = time.monotonic() - started

    def ranked(self):
        """The trials that count, best first (cut ones only when none ran its course)."""
        kept = [t for t in self.trials if t.model is not None]
        whole = [t for t in kept if not t.cut]
        return sorted(whole or kept, key=Trial.key)

    # ------------------------------------------------------------------ the search
    def prepare(self, data):
        """Read the table; settle the target, the task, the seed and the validation."""
        from .. import tasks
        from . import fitting
        from .tables import as_frame

        options = self.model.options
        self.seed = options.seed if options.seed is not None else fitting.fresh_seed()
        frame = as_frame(data, self.fit_args.get("sep"))
        self.source = os.path.basename(os.fspath(data)) \
            if isinstance(data, (str, os.PathLike)) else None
        kept = fitting.drop_columns(frame, options.drop)
        kept, self.name, rows = fitting.select_target(kept, self.model.target)
        self.frame = frame.iloc[rows]
        self.task = self.model.task if self.model.task != "auto" else \
            tasks.guess_task(kept[self.name])
        self.metric = tasks.MAIN_METRIC[self.task]
        options = options.replace(seed=self.seed)
        if options.cross_fit is None:
            rows = len(self.frame)
            options = options.replace(
                cross_fit=max(1, min(FOLDS, rows)) if rows <= KFOLD_MAX_ROWS else 1)
        if options.cross_fit == 1 and options.val_split == 0:
            options = options.replace(val_split=HOLDOUT)
        self.base = options

    def run(self, data):
        """Search, then fill ``self.model`` and return it (module docstring)."""
        self.start = time.monotonic()
        self.deadline = self.start + self.budget
        self.prepare(data)
        try:
            with _quiet():
                stopped = self.search()
        except KeyboardInterrupt:
            self.adopt("interrupted")
            raise
        self.adopt(stopped)
        return self.model

    def search(self):
        """Run the trials; returns why the search stopped ("budget" or "max_trials")."""
        draws = candidates(self.seed, self.base)
        options, skipped_in_a_row = next(draws), 0
        while self.max_trials is None or len(self.trials) < self.max_trials:
            if self.trials:
                options = next(draws)
                left = self.deadline - time.monotonic()
                if left <= 0:
                    return "budget"
                if self.estimate(options) > left:  # would not finish: draw another
                    self.skipped += 1
                    skipped_in_a_row += 1
                    if skipped_in_a_row == MAX_SKIPS:
                        return "budget"
                    continue
            skipped_in_a_row = 0
            trial = Trial(len(self.trials) + 1, options)
            self.trials.append(trial)
            self.run_trial(trial)
            self.report(trial)
            if trial.cut:
                return "budget"
        return "max_trials"

    def work(self, options):
        """The multiply-adds a trial with ``options`` makes, up to a constant: networks x
        epochs x training rows per network x the network's multiply-adds per row
        (fastnn.defaults' rule fills the options left None, from the rows left after the
        validation rows, as TabularModel.fit does)."""
        networks = options.cross_fit
        train_rows = max(1, int(len(self.frame) * (1 - options.val_split)))
        rows = len(self.frame) * (networks - 1) // networks if networks > 1 else train_rows
        used = options.resolved(train_rows, self.task, self.seed)[0]
        widths = [self.widths[0], *used.layers, self.widths[1]]
        return networks * used.epochs * max(1, rows) * sum(
            a * b for a, b in zip(widths, widths[1:]))

    def estimate(self, options):
        """Seconds a trial with ``options`` is expected to take: its work times the least
        seconds per unit of work of the trials that ran their course (the longest trial so
        far before one did)."""
        finished = [t for t in self.trials if t.model is not None and not t.cut]
        if not finished:
            return max(t.seconds for t in self.trials)
        if self.widths is None:
            network = finished[0].model.network
            self.widths = (network.input_dim, network.output_dim)
        per_unit = min(t.seconds / self.work(t.options) for t in finished)
        return per_unit * self.work(options)

    def report(self, trial):
        """Tell ``progress`` about a finished trial."""
        if self.progress is None:
            return
        ranked = self.ranked()
        best = ranked[0] if ranked else trial
        self.progress({"trial": trial.number, "metric": self.metric, "score": trial.metric,
                       "error": trial.error,
                       "loss": trial.loss, "cut": trial.cut, "seconds": trial.seconds,
                       "best": best.metric, "best_trial": best.number,
                       "elapsed": time.monotonic() - self.start, "budget": self.budget,
                       "options": changed_options(trial.options, self.base)})

    # ------------------------------------------------------------------ the result
    def members(self):
        """The best trials kept: up to ``ensemble`` of them, while their networks together
        fit in one model (MAX_MEMBERS); at least the best."""
        chosen, networks = [], 0
        for trial in self.ranked()[:self.ensemble]:
            count = len(_networks(trial.model.network))
            if chosen and networks + count > MAX_MEMBERS:
                break
            chosen.append(trial)
            networks += count
        return chosen

    def adopt(self, stopped):
        """Fill the model with the best trials' models."""
        chosen = self.members()
        models = [t.model for t in chosen]
        if not models and self.interrupted_model is not None:
            models = [self.interrupted_model]
        if not models:
            if stopped == "interrupted":
                return  # interrupted before any model was fitted
            from .fitting import TrainingDiverged

            raise TrainingDiverged("no trial gave a model: each diverged in its first epoch "
                                   "(the loss became NaN or infinite) or was rejected; lower "
                                   "the learning rate")
        combined = combine(models)
        model = self.model
        for name in ("network", "features", "target_encoder", "threshold", "history",
                     "fit_report"):
            setattr(model, name, getattr(combined, name))
        validation = f"{self.base.cross_fit}-fold" if self.base.cross_fit > 1 else "hold-out"
        model.tune_report = {
            "budget": self.budget, "seconds": round(time.monotonic() - self.start, 3),
            "validation": validation, "metric": self.metric, "stopped": stopped,
            "trials": [t.record(self.base) for t in self.trials], "skipped": self.skipped,
            "members": [t.number for t in chosen],
            "networks": len(_networks(combined.network))}
        model.settings = {**combined.settings, "search": {
            "budget": self.budget, "trials": len(self.trials),
            "validation": validation, "metric": self.metric,
            "members": [{"trial": t.number, "score": t.metric,
                         **changed_options(t.options, self.base)} for t in chosen]}}
        model.data_info = {**combined.data_info, "file": self.source}


def _networks(network):
    """The networks a fitted model averages: an Ensemble's members, or the one network."""
    from ..ensemble import Ensemble

    return network.members if isinstance(network, Ensemble) else [network]


@contextlib.contextmanager
def _quiet():
    """The "fastnn" logger's warnings (missing values filled, ...) silenced: every trial's fits
    would repeat them."""
    log = logging.getLogger("fastnn")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def combine(models):
    """One fitted TabularModel from ``models`` fitted on the same rows: the first when alone,
    else the first with an Ensemble of all their networks (each ensemble's members). ValueError
    when their preprocessing differs (they were not fitted on the same rows)."""
    from ..ensemble import Ensemble

    first = models[0]
    if len(models) == 1:
        return first
    for other in models[1:]:
        if (other.features.to_dict() != first.features.to_dict()
                or other.target_encoder.to_dict() != first.target_encoder.to_dict()):
            raise ValueError("the models of an ensemble must share their preprocessing (fit "
                             "them on the same rows with the same seed)")
    combined = copy.copy(first)
    networks = [network for m in models for network in _networks(m.network)]
    combined.network = Ensemble(networks)
    combined.fit_report = {**{k: v for k, v in first.fit_report.items()
                              if k not in ("train", "validation", "cross_fit")},
                           "members": len(networks)}
    return combined


def changed_options(options, base):
    """{name: value} of the searched options that a candidate drew (those that differ from
    ``base``, the options given), as JSON values."""
    settings, base = options.to_settings(), base.to_settings()
    return {name: settings[name] for name in SPACE if settings[name] != base[name]}


def tune(data, budget, target=None, task="auto", *, ensemble=1, max_trials=None,
         progress=None, sep=None, sample_weight=None, class_weight=None, **options):
    """A TabularModel found by the search within ``budget`` seconds (module docstring):
    ``TabularModel(target, task, **options).tune(data, budget, ...)``."""
    from .model import TabularModel

    return TabularModel(target=target, task=task, **options).tune(
        data, budget, ensemble=ensemble, max_trials=max_trials, progress=progress, sep=sep,
        sample_weight=sample_weight, class_weight=class_weight)
