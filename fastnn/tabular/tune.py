"""The time-budget search of ``TabularModel.tune`` and ``fastnn.tune`` (``fastnn train
--budget``): training options tried one after another within a wall-clock budget, the best
kept (or the best few averaged as an ensemble).

Candidates: trial 1 is the options as given (fastnn.defaults fills what is left None, but each
fit trains one network: cross_fit 1 unless given); every later trial draws, from
``np.random.default_rng([seed, 13])``, a value for each searched option (SPACE) that the caller
left at its default; options set to anything else stay fixed. The same seed gives the same
candidates in the same order; how many of them run depends on the budget.

Validation: a table of at most KFOLD_MAX_ROWS rows (with a target value) scores each trial by
FOLDS-fold cross-validation (fastnn.model_selection.make_splits, stratified by class): a model
fitted on each fold's other rows, scored on the fold; then the finalists are fitted again on the
whole table. A larger table scores each trial on a hold-out (the ``val_split`` rows, HOLDOUT
when that is 0, as TabularModel.fit holds them out) and the trials' models are the finalists
themselves. The score is the task's main metric (accuracy, or r2 for regression), ties going to
the lower loss. All fits share the seed, so they see the same rows and the same preprocessing,
and the finalists can be averaged.

Time: the budget runs from the call. A candidate is skipped (and the next one drawn) when its
estimated length would take it past the deadline less the time the finalists' fits need (those
estimated from their folds' fit times, scaled to the whole table). The estimate is the
candidate's work (epochs x training rows x multiply-adds per row, summed over its fits) times
the least seconds per unit of work of the trials so far. A fit still running at its deadline
stops after its current epoch, keeping its best weights. Trial 1 always runs, and the first
finalist always runs its course (k-fold), so the call takes at most the budget plus about one
trial's length. A trial cut by the deadline counts only when no trial ran its course.

Ctrl-C (KeyboardInterrupt) ends the search: the model keeps the best finalists fitted so far,
else the best trials' models (with k-fold, their first fold's models), and the interrupt is
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

KFOLD_MAX_ROWS = 2000
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
    """One candidate's run: its options, score (main metric, loss), seconds, fit seconds per
    fold, whether the deadline cut it, and a fitted model (hold-out: the model; k-fold: the
    first fold's)."""

    def __init__(self, number, options):
        self.number, self.options = number, options
        self.metric = self.loss = None
        self.seconds, self.fit_seconds, self.cut, self.model = 0.0, [], False, None
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
        self.trials, self.finals, self.interrupted_model = [], [], None
        self.skipped, self.widths = 0, None
        self.start = self.deadline = None

    # ------------------------------------------------------------------ fitting
    def fit(self, options, frame, limit):
        """(a TabularModel with ``options`` fitted on ``frame``, its Deadline callback)."""
        from .model import TabularModel

        fitted = TabularModel(target=self.name, task=self.task)
        fitted.options = options
        deadline = Deadline(limit)
        try:
            fitted.fit(frame, callbacks=[deadline], **self.fit_args)
        except KeyboardInterrupt:
            self.interrupted_model = fitted if fitted.network is not None else None
            raise
        return fitted, deadline

    def reserve(self):
        """Seconds the finalists' fits on the whole table need (k-fold; 0 with a hold-out):
        the mean fold fit time of each of the best finished trials, scaled by
        FOLDS / (FOLDS - 1) rows. (The trial running now is left out: counting its first folds
        would move its own deadline as it runs.)"""
        if self.splits is None:
            return 0.0
        finished = [t for t in self.ranked() if t.seconds]  # not the trial running now
        return sum(_refit_seconds(t) for t in finished[:self.ensemble])

    def search_limit(self):
        """When a trial's fit stops: the deadline less the finalists' reserve."""
        return self.deadline - self.reserve()

    def final_limit(self):
        return self.deadline

    @staticmethod
    def no_limit():
        return math.inf

    def ranked(self):
        """The trials that count, best first (cut ones only when none ran its course)."""
        kept = [t for t in self.trials if t.model is not None]
        whole = [t for t in kept if not t.cut]
        return sorted(whole or kept, key=Trial.key)

    def run_trial(self, trial):
        """Fit and score ``trial``. A drawn trial whose loss diverges in its first epoch, or
        whose options the network rejects (a schedule too short for its run, ...), gets no
        score and no model, and the search goes on; trial 1's errors (the options given) are
        raised."""
        from .fitting import TrainingDiverged

        started = time.monotonic()
        try:
            self.score_trial(trial)
        except (TrainingDiverged, ValueError) as exc:
            if trial.number == 1 and not isinstance(exc, TrainingDiverged):
                raise
            trial.metric = trial.loss = trial.model = None
            trial.error = str(exc)
        trial.seconds = time.monotonic() - started

    def score_trial(self, trial):
        if self.splits is None:  # hold-out: the fit's own validation rows
            fitted, deadline = self.fit(trial.options, self.frame, self.search_limit)
            summary = fitted.fit_report["validation"]
            trial.metric, trial.loss = summary[self.metric], summary["loss"]
            trial.model, trial.cut = fitted, deadline.reached
        else:
            metrics, losses = [], []
            for train, val in self.splits:
                fold_started = time.monotonic()
                fitted, deadline = self.fit(trial.options, self.frame.iloc[train],
                                            self.search_limit)
                trial.fit_seconds.append(time.monotonic() - fold_started)
                scores = self.fold_scores(fitted, self.frame.iloc[val])
                metrics.append(scores[self.metric])
                losses.append(scores["loss"])
                trial.model = trial.model or fitted
                if deadline.reached:
                    trial.cut = True
                    break
            trial.metric = None if None in metrics else float(np.mean(metrics))
            trial.loss = float(np.mean(losses))

    def fold_scores(self, fitted, rows):
        """``fitted.evaluate`` on a fold's validation ``rows``. A row of a class that the
        fold's training rows lack (a class with fewer rows than folds) counts as wrong, and
        not in the loss."""
        if self.task == "regression":
            return fitted.evaluate(rows)
        from .target import plain_label

        classes = set(fitted.target_encoder.classes)
        known = rows[self.name].map(plain_label).isin(classes).to_numpy()
        if not known.any():
            return {self.metric: 0.0, "loss": math.nan}
        scores = fitted.evaluate(rows[known])
        return {**scores, self.metric: scores[self.metric] * known.mean()}

    # ------------------------------------------------------------------ the search
    def prepare(self, data):
        """Read the table; settle the target, the task, the seed and the validation."""
        from .. import tasks
        from ..model_selection import make_splits
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
        # one network per fit: the search's own validation and --ensemble do the averaging
        options = options.replace(seed=self.seed,
                                  cross_fit=1 if options.cross_fit is None else
                                  options.cross_fit)
        if len(self.frame) <= KFOLD_MAX_ROWS:
            stratify = None if self.task == "regression" else kept[self.name].to_numpy()
            self.splits = make_splits(len(self.frame), min(FOLDS, len(self.frame)),
                                      stratify=stratify, seed=self.seed)
        else:
            self.splits = None
            if options.val_split == 0:
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
                self.finish()
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
                left = self.deadline - self.reserve() - time.monotonic()
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
        """The multiply-adds a trial with ``options`` makes (all its fits), up to a constant:
        epochs x training rows x the network's multiply-adds per row (fastnn.defaults' rule
        fills the options left None)."""
        folds = 1 if self.splits is None else len(self.splits)
        rows = len(self.frame) * (1 if self.splits is None else (folds - 1) / folds)
        rows = max(1, int(rows * (1 - options.val_split)))
        used = options.resolved(rows, self.task, self.seed)[0]
        widths = [self.widths[0], *used.layers, self.widths[1]]
        return folds * used.epochs * rows * sum(a * b for a, b in zip(widths, widths[1:]))

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

    def finish(self):
        """The finalists fitted on the whole table (k-fold only): the first always, to its end
        (a model stopped after an epoch is worth less than one more fit's time); each other
        one only while its estimated fit ends before the deadline, and stopped there."""
        if self.splits is None:
            return
        for i, trial in enumerate(self.ranked()[:self.ensemble]):
            if i and time.monotonic() + _refit_seconds(trial) > self.deadline:
                break
            limit = self.final_limit if i else self.no_limit  # the first runs its course
            self.finals.append(self.fit(trial.options, self.frame, limit)[0])

    # ------------------------------------------------------------------ the result
    def adopt(self, stopped):
        """Fill the model with the best finalists (or the best trials' models)."""
        ranked = self.ranked()
        members = self.finals or [t.model for t in ranked[:self.ensemble]]
        if not members and self.interrupted_model is not None:
            members = [self.interrupted_model]
        if not members:
            if stopped == "interrupted":
                return  # interrupted before any model was fitted
            from .fitting import TrainingDiverged

            raise TrainingDiverged("no trial gave a model: each diverged in its first epoch "
                                   "(the loss became NaN or infinite) or was rejected; lower "
                                   "the learning rate")
        chosen = ranked[:len(members)]
        combined = combine(members)
        model = self.model
        for name in ("network", "features", "target_encoder", "threshold", "history",
                     "fit_report"):
            setattr(model, name, getattr(combined, name))
        model.tune_report = {
            "budget": self.budget, "seconds": round(time.monotonic() - self.start, 3),
            "validation": "hold-out" if self.splits is None else f"{len(self.splits)}-fold",
            "metric": self.metric, "stopped": stopped,
            "trials": [t.record(self.base) for t in self.trials], "skipped": self.skipped,
            "members": [t.number for t in chosen], "refit": bool(self.finals)}
        model.settings = {**combined.settings, "search": {
            "budget": self.budget, "trials": len(self.trials),
            "validation": model.tune_report["validation"], "metric": self.metric,
            "members": [{"trial": t.number, "score": t.metric,
                         **changed_options(t.options, self.base)} for t in chosen]}}
        model.data_info = {**combined.data_info, "file": self.source}


def _refit_seconds(trial):
    """The estimated seconds of a k-fold trial's fit on the whole table."""
    return float(np.mean(trial.fit_seconds)) * FOLDS / (FOLDS - 1) if trial.fit_seconds else 0.0


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
    else the first with an Ensemble of all their networks. ValueError when their preprocessing
    differs (they were not fitted on the same rows)."""
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
    combined.network = Ensemble([m.network for m in models])
    combined.fit_report = {**{k: v for k, v in first.fit_report.items()
                              if k not in ("train", "validation")}, "members": len(models)}
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
