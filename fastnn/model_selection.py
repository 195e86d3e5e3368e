"""Cross-validation and sweeps: many independent training runs, summarised as a ranked table.

A *run* trains one model on one split of the rows: ``build_fn(seed=..., **setting)`` returns a
compiled fastnn ``Sequential``; the runner fits it on the split's training rows, with the split's
validation rows as ``validation_data``, and keeps the per-epoch history (the learning curves) and
the validation metric of the final model (``model.evaluate`` on the validation rows).

Preprocessing: ``prepare(X, y, train_index)`` (optional) is fitted on each split's training
rows only and gives the arrays that split's runs use, so no statistic of the validation rows
leaks into training.

Seeds: run i of a sweep (settings in grid order, then folds) gets the seed
``SeedSequence([seed, i])``, so every run has its own seed and a sweep is reproducible wherever
its runs execute. The splits come from ``seed`` too, and are the same for every setting.

Where runs execute, what a failed run gives and what compiling costs: fastnn.sweep_runners.
"""

import itertools

import numpy as np

from .checks import number
from .sweep_runners import dispatch

GREATER_IS_BETTER = {"accuracy": True, "r2": True, "loss": False, "mae": False, "mse": False,
                     "rmse": False}


# ----------------------------------------------------------------------------- splits
def _shuffled_groups(n_rows, stratify, rng):
    """The rows in random order: one array, or one per class of the labels ``stratify``."""
    if stratify is None:
        return [rng.permutation(n_rows)]
    labels = np.asarray(stratify)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise ValueError(f"stratify must be one label per row ({n_rows}), got shape "
                         f"{labels.shape}")
    codes = np.unique(labels.astype(str) if labels.dtype == object else labels,
                      return_inverse=True)[1].ravel()
    return [rng.permutation(np.flatnonzero(codes == c)) for c in range(codes.max() + 1)]


def make_splits(n_rows, cv=None, *, X=None, y=None, validation_fraction=0.2, stratify=None,
                seed=0):
    """[(train indices, validation indices), ...] for ``n_rows`` rows.

    ``cv`` None: one hold-out split, a random ``validation_fraction`` of the rows (at least one)
    for validation; an int K >= 2: the rows of a random permutation dealt into K folds in turn
    (sizes differ by at most one), each fold validated once; an object with ``split(X, y)`` (a
    scikit-learn splitter) or an iterable of (train, validation) index pairs: used as given.
    ``stratify`` (one label per row) makes the first two keep each class's share: the hold-out
    takes round(fraction x its rows) of every class (one row of the largest class when every
    share rounds to none), the folds deal every class in turn.
    """
    rng = np.random.default_rng([seed, 2])
    if cv is None:
        validation_fraction = number("validation_fraction", validation_fraction, low=0, high=1,
                                     low_open=True, high_open=True)
        groups = _shuffled_groups(n_rows, stratify, rng)
        val = np.concatenate([g[:int(round(validation_fraction * len(g)))] for g in groups])
        if val.size < 1:  # every share rounded to 0: the first row of the largest group
            val = max(groups, key=len)[:1]
        if val.size >= n_rows:
            raise ValueError(f"a validation fraction of {validation_fraction} of {n_rows} rows "
                             "leaves no validation or no training rows")
        return [(np.setdiff1d(np.arange(n_rows), val), np.sort(val))]
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if not 2 <= cv <= n_rows:
            raise ValueError(f"cv must be between 2 and the number of rows ({n_rows}), got {cv}")
        order = np.concatenate(_shuffled_groups(n_rows, stratify, rng))
        folds = [order[k::int(cv)] for k in range(int(cv))]
        return [(np.setdiff1d(np.arange(n_rows), fold), np.sort(fold)) for fold in folds]
    pairs = list(cv.split(X, y)) if hasattr(cv, "split") else list(cv)
    splits = []
    for train, val in pairs:
        train, val = np.asarray(train, dtype=np.int64), np.asarray(val, dtype=np.int64)
        if train.size == 0 or val.size == 0:
            raise ValueError("every split needs training and validation rows")
        if train.min() < 0 or val.min() < 0 or max(train.max(), val.max()) >= n_rows:
            raise ValueError(f"split indices must lie in [0, {n_rows})")
        splits.append((train, val))
    if not splits:
        raise ValueError("cv gave no splits")
    return splits


def run_seed(seed, run_index):
    """The seed of run ``run_index`` of a sweep seeded with ``seed`` (a non-negative int32)."""
    return int(np.random.SeedSequence([seed, run_index]).generate_state(1)[0] >> 1)


def settings_of(grid):
    """Every combination of a grid {name: [values]} as a list of dicts, in the grid's order
    (the last name varies fastest); an empty grid is one empty setting."""
    if not isinstance(grid, dict):
        raise ValueError(f"grid must be a dict of name -> list of values, got {grid!r}")
    values = []
    for name, options in grid.items():
        if isinstance(options, (str, bytes)) or not hasattr(options, "__iter__"):
            raise ValueError(f"grid[{name!r}] must be a list of values, got {options!r}")
        options = list(options)
        if not options:
            raise ValueError(f"grid[{name!r}] is empty")
        values.append(options)
    return [dict(zip(grid, combo)) for combo in itertools.product(*values)]


# ----------------------------------------------------------------------------- results
class SweepResult:
    """The outcome of a sweep (or of cross_validate, a sweep of one setting).

    ``rows``: one dict per setting, ranked best first: {"rank", "setting", "mean", "std",
    "scores" (per split, None where the run failed), "runs", "failed", "errors"}. ``mean`` and
    ``std`` (population, ddof=0) are over the runs that finished; settings whose runs all
    finished rank first, then those with some failures, then those with none finished.
    ``runs``: every run's record in grid order (fastnn.sweep_runners.run_one), its ``history``
    holding the learning curves. ``splits``: the (train, validation) indices, run ``fold`` k
    used split k.
    """

    def __init__(self, metric, names, settings, splits, runs):
        self.metric = metric
        self.greater_is_better = GREATER_IS_BETTER[metric]
        self.names = list(names)
        self.splits = splits
        self.runs = runs
        rows = []
        for index, setting in enumerate(settings):
            mine = [r for r in runs if r["run"] // len(splits) == index]
            scores = [r["score"] for r in mine]
            done = np.array([s for s in scores if s is not None], dtype=float)
            errors = list(dict.fromkeys(r["error"] for r in mine if r["error"]))
            rows.append({"setting": setting, "scores": scores, "runs": len(mine),
                         "failed": len(mine) - done.size, "errors": errors,
                         "mean": float(done.mean()) if done.size else float("nan"),
                         "std": float(done.std()) if done.size else float("nan")})
        sign = -1.0 if self.greater_is_better else 1.0

        def order(row):
            state = 2 if row["failed"] == row["runs"] else int(row["failed"] > 0)
            return (state, sign * row["mean"] if state < 2 else 0.0)

        self.rows = sorted(rows, key=order)
        for rank, row in enumerate(self.rows, start=1):
            row["rank"] = rank

    @property
    def compile_seconds(self):
        """{worker: seconds Numba spent compiling fastnn's kernels in that worker's runs}, for
        every worker that ran a run (0.0 where nothing compiled)."""
        seconds = {}
        for r in self.runs:
            if r["worker"] is not None:
                seconds[r["worker"]] = seconds.get(r["worker"], 0.0) + r["compile_seconds"]
        return seconds

    @property
    def best(self):
        """The best setting (a dict)."""
        return self.rows[0]["setting"]

    def curves(self, key=None):
        """[(label, values), ...]: every run's per-epoch ``key`` (default the validation
        metric, ``val_<metric>``), labelled by its setting and fold."""
        key = key or f"val_{self.metric}"
        out = []
        for r in self.runs:
            label = ", ".join(f"{k}={v}" for k, v in r["setting"].items()) or "run"
            if len(self.splits) > 1:
                label += f" (fold {r['fold'] + 1})"
            out.append((label, r["history"].get(key, [])))
        return out

    def table(self):
        """The ranked table as text."""
        head = ["rank", *self.names, f"val_{self.metric} mean", "std", "runs ok", "error"]
        body = [[str(row["rank"]), *(str(row["setting"][n]) for n in self.names),
                 f"{row['mean']:.4f}", f"{row['std']:.4f}",
                 f"{row['runs'] - row['failed']}/{row['runs']}",
                 row["errors"][0].splitlines()[0] if row["errors"] else ""]
                for row in self.rows]
        widths = [max(len(line[c]) for line in [head, *body]) for c in range(len(head))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                         for line in [head, *body])

    def __repr__(self):
        return f"SweepResult(metric={self.metric!r}, settings={len(self.rows)}, " \
               f"runs={len(self.runs)})"


# ----------------------------------------------------------------------------- entry points
def _check_setting(build_fn, setting, metric, X):
    """Build one model for ``setting`` here, before any run starts, so that a bad grid or
    metric is a ValueError now rather than a column of failed runs."""
    from .model import Sequential

    try:
        model = build_fn(seed=0, **setting)
    except TypeError as exc:
        raise ValueError(f"build_fn(seed=..., **{setting!r}) failed: {exc}") from None
    if not isinstance(model, Sequential) or model.loss is None:
        raise ValueError("build_fn must return a compiled fastnn Sequential model, got "
                         f"{type(model).__name__}")
    model.predict(X[:1])  # builds the model (and loads its kernels once, here)
    if metric != "loss" and metric not in model.metrics:
        raise ValueError(f"metric {metric!r} is not compiled into the model (it has "
                         f"{model.metrics}); add it to compile(metrics=[...]) in build_fn")


def _datasets(X, y, splits, prepare):
    """The arrays the runs index: [(X, y)] for all splits, or with ``prepare`` one
    ``prepare(X, y, train_index)`` per split (preprocessing fitted on that split's training
    rows, applied to all rows)."""
    n_rows = len(X)
    prepared = [(X, y)] if prepare is None else [prepare(X, y, train) for train, _ in splits]
    datasets = []
    for data in prepared:
        if not isinstance(data, tuple) or len(data) != 2:
            raise ValueError("prepare must return a pair (X, y) of all rows")
        Xd, yd = np.asarray(data[0]), np.asarray(data[1])
        if Xd.ndim != 2 or Xd.shape[0] != n_rows:
            raise ValueError(f"X must be a 2-D array of {n_rows} rows, got shape {Xd.shape}")
        if yd.shape[0] != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {yd.shape[0]}")
        datasets.append((Xd, yd))
    return datasets


def sweep(build_fn, X, y, grid, *, cv=None, validation_fraction=0.2, stratify=False, epochs=20,
          batch_size=32, metric="loss", seed=0, fit_options=None, prepare=None, n_jobs=None,
          scheduler=None):
    """Train ``build_fn(seed=..., **setting)`` for every setting of ``grid`` on every split and
    rank the settings by the validation ``metric``; returns a ``SweepResult``.

    ``grid``: {name: [values]} (every combination is a setting). ``cv``: None (one hold-out
    split of ``validation_fraction``), K folds, a scikit-learn splitter or (train, val) pairs;
    ``stratify=True`` keeps each class's share of y in the hold-out split or the folds.
    ``metric``: "loss" or a metric compiled into the model ("accuracy", "r2", "mae", ...).
    ``fit_options``: further keyword arguments of ``fit`` (callbacks are copied per run).
    ``prepare(X, y, train_index) -> (X_all, y_all)``: preprocessing fitted on each split's
    training rows and applied to all rows, here, once per split (X, y may then be any table
    ``prepare`` reads, e.g. a DataFrame). ``n_jobs``/``scheduler``: where the runs execute
    (module docstring).
    """
    if len(X) < 2 or len(y) != len(X):
        raise ValueError(f"X and y need the same number of rows, at least 2; got {len(X)} and "
                         f"{len(y)}")
    if metric not in GREATER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; choose one of: "
                         f"{', '.join(GREATER_IS_BETTER)}")
    fit_options = dict(fit_options or {})
    clash = {"validation_data", "validation_split", "epochs", "batch_size"} & set(fit_options)
    if clash:
        raise ValueError(f"fit_options may not set {sorted(clash)}: the sweep sets them")
    settings = settings_of(grid)
    splits = make_splits(len(X), cv, X=X, y=y, validation_fraction=validation_fraction,
                         stratify=y if stratify else None, seed=seed)
    datasets = _datasets(X, y, splits, prepare)
    for setting in settings:
        _check_setting(build_fn, setting, metric, datasets[0][0])
    jobs = []
    for index, setting in enumerate(settings):
        for fold, (train, val) in enumerate(splits):
            run = index * len(splits) + fold
            jobs.append({"run": run, "setting": setting, "fold": fold,
                         "seed": run_seed(seed, run), "train": train, "val": val,
                         "data": 0 if prepare is None else fold})
    options = {"epochs": epochs, "batch_size": batch_size, "metric": metric,
               "fit_options": fit_options}
    runs = dispatch(jobs, build_fn, datasets, options, n_jobs, scheduler)
    return SweepResult(metric, list(grid), settings, splits, runs)


def cross_validate(build_fn, X, y, cv=5, *, stratify=False, epochs=20, batch_size=32,
                   metric="loss", seed=0, fit_options=None, prepare=None, n_jobs=None,
                   scheduler=None):
    """K-fold cross-validation of ``build_fn(seed=...)``: a ``SweepResult`` with one row
    (``rows[0]["mean"]``, ``["std"]``, ``["scores"]`` per fold), a run per fold in ``runs``
    and the folds' indices in ``splits``."""
    return sweep(build_fn, X, y, {}, cv=cv, stratify=stratify, epochs=epochs,
                 batch_size=batch_size, metric=metric, seed=seed, fit_options=fit_options,
                 prepare=prepare, n_jobs=n_jobs, scheduler=scheduler)
