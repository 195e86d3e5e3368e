"""Cross-validation and sweeps: splits, seeds, ranking, failures, and the same numbers in this
process, in local worker processes and on a Dask distributed cluster."""

import multiprocessing
import os
import signal
import warnings

import numpy as np
import pytest

import fastnn as fn
from fastnn import model_selection as ms
from fastnn import sweep_runners
from fastnn.builders import make_optimizer, mlp_builder

EPOCHS = 4


def _data(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.3 * X[:, 2] ** 2 > 0.2).astype(np.int64)
    return X, y


def build(seed, optimizer="sgd", learning_rate=0.1, crash=False):
    """A small binary classifier. ``crash`` kills the worker process running it (never the
    test process, which builds every setting once before the sweep starts)."""
    if crash and multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    model = fn.Sequential([fn.Dense(8, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          seed=seed)
    return model.compile(optimizer=make_optimizer(optimizer, learning_rate),
                         loss="binary_crossentropy", metrics=["accuracy"])


def _curves(run):
    """A run's history without the wall times, which differ from run to run."""
    return {k: v for k, v in run["history"].items() if k != "time"}


def _same_runs(a, b):
    assert len(a.runs) == len(b.runs)
    for ra, rb in zip(a.runs, b.runs):
        assert (ra["run"], ra["setting"], ra["fold"], ra["seed"], ra["error"]) == \
               (rb["run"], rb["setting"], rb["fold"], rb["seed"], rb["error"])
        assert ra["score"] == rb["score"]
        assert _curves(ra) == _curves(rb)
    assert [r["setting"] for r in a.rows] == [r["setting"] for r in b.rows]


# ----------------------------------------------------------------------------- splits and seeds
@pytest.mark.parametrize("cv, n_splits", [
    (None, 1),
    (5, 5),
    (2, 2),
    ([(np.arange(10, 30), np.arange(10)), (np.arange(20), np.arange(20, 30))], 2),
])
def test_splits_cover_the_rows_without_overlap(cv, n_splits):
    splits = ms.make_splits(30, cv, validation_fraction=0.2, seed=3)
    assert len(splits) == n_splits
    for train, val in splits:
        assert np.intersect1d(train, val).size == 0
        assert np.union1d(train, val).size == 30
    if isinstance(cv, int):
        all_val = np.sort(np.concatenate([val for _, val in splits]))
        np.testing.assert_array_equal(all_val, np.arange(30))


@pytest.mark.parametrize("cv", [None, 4])
def test_stratified_splits_keep_each_class_share(cv):
    labels = np.array(["a"] * 40 + ["b"] * 16 + ["c"] * 4)
    splits = ms.make_splits(60, cv, validation_fraction=0.25, stratify=labels, seed=1)
    for train, val in splits:
        assert np.intersect1d(train, val).size == 0 and train.size + val.size == 60
        counts = {c: int(np.sum(labels[val] == c)) for c in "abc"}
        assert counts == {"a": 10, "b": 4, "c": 1}


def test_a_scikit_learn_splitter_is_used_as_given():
    from sklearn.model_selection import StratifiedKFold

    X, y = _data(60)
    splitter = StratifiedKFold(3, shuffle=True, random_state=0)
    splits = ms.make_splits(60, splitter, X=X, y=y)
    for (train, val), (t2, v2) in zip(splits, splitter.split(X, y)):
        np.testing.assert_array_equal(train, t2)
        np.testing.assert_array_equal(val, v2)


@pytest.mark.parametrize("cv, message", [
    (1, "cv must be between 2"),
    (31, "cv must be between 2"),
    ([(np.arange(5), np.arange(25, 31))], r"split indices must lie in \[0, 30\)"),
    ([(np.arange(5), np.arange(0))], "training and validation rows"),
])
def test_bad_splits_are_refused(cv, message):
    with pytest.raises(ValueError, match=message):
        ms.make_splits(30, cv)


def test_every_run_has_its_own_seed_and_grid_order_is_kept():
    assert ms.settings_of({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    seeds = [ms.run_seed(7, i) for i in range(50)]
    assert len(set(seeds)) == 50
    assert seeds == [ms.run_seed(7, i) for i in range(50)]
    assert all(0 <= s < 2 ** 31 for s in seeds)


# ----------------------------------------------------------------------------- cross-validation
def test_cross_validate_returns_k_folds_whose_validation_rows_partition_the_data():
    X, y = _data()
    result = ms.cross_validate(build, X, y, cv=4, epochs=EPOCHS, metric="accuracy", n_jobs=1)
    assert len(result.runs) == 4 and len(result.splits) == 4
    all_val = np.sort(np.concatenate([val for _, val in result.splits]))
    np.testing.assert_array_equal(all_val, np.arange(len(X)))
    row = result.rows[0]
    scores = [run["score"] for run in result.runs]
    assert row["scores"] == scores and row["failed"] == 0
    assert row["mean"] == pytest.approx(np.mean(scores))
    assert row["std"] == pytest.approx(np.std(scores))
    for run, (_, val) in zip(result.runs, result.splits):
        assert len(run["history"]["val_accuracy"]) == EPOCHS
        # the score is the final model's accuracy on exactly that fold's rows
        model = build(run["seed"])
        model.fit(X[np.setdiff1d(np.arange(len(X)), val)], y[np.setdiff1d(np.arange(len(X)),
                                                                          val)],
                  validation_data=(X[val], y[val]), epochs=EPOCHS, batch_size=32)
        assert model.evaluate(X[val], y[val])["accuracy"] == run["score"]


def test_prepare_fits_the_preprocessing_on_each_splits_training_rows():
    X, y = _data()
    X = X * 50.0 + 10.0
    seen = []

    def standardize(X, y, train):
        seen.append(train)
        return (X - X[train].mean(axis=0)) / X[train].std(axis=0), y

    result = ms.cross_validate(build, X, y, cv=3, epochs=EPOCHS, prepare=standardize, n_jobs=1)
    assert len(seen) == 3
    for run, (train, val), used in zip(result.runs, result.splits, seen):
        np.testing.assert_array_equal(used, train)
        Xs = (X - X[train].mean(axis=0)) / X[train].std(axis=0)
        model = build(run["seed"])
        model.fit(Xs[train], y[train], validation_data=(Xs[val], y[val]), epochs=EPOCHS,
                  batch_size=32)
        assert model.evaluate(Xs[val], y[val])["loss"] == run["score"]
    with pytest.raises(ValueError, match="120 rows"):
        ms.cross_validate(build, X, y, cv=3, prepare=lambda X, y, train: (X[train], y[train]))


# ----------------------------------------------------------------------------- sweeps
def test_sweep_over_three_optimizers_gives_three_ranked_rows_with_curves():
    X, y = _data()
    grid = {"optimizer": ["sgd", "momentum", "adam"]}
    result = ms.sweep(build, X, y, grid, epochs=EPOCHS, metric="loss", n_jobs=1)
    assert [row["rank"] for row in result.rows] == [1, 2, 3]
    assert sorted(row["setting"]["optimizer"] for row in result.rows) == sorted(grid["optimizer"])
    means = [row["mean"] for row in result.rows]
    assert means == sorted(means)  # loss: lower is better
    curves = result.curves()
    assert len(curves) == 3
    for label, values in curves:
        assert label.startswith("optimizer=") and len(values) == EPOCHS
    assert result.best == result.rows[0]["setting"]
    table = result.table().splitlines()
    assert len(table) == 4 and table[0].split()[:2] == ["rank", "optimizer"]


def test_sweep_with_the_ready_made_mlp_and_folds():
    X, y = _data()
    build_mlp = mlp_builder(y, hidden=(8,), optimizer="sgd", learning_rate=0.1)
    result = ms.sweep(build_mlp, X, y, {"activation": ["relu", "tanh"]}, cv=3, epochs=EPOCHS,
                      metric="accuracy", n_jobs=1)
    assert len(result.rows) == 2 and len(result.runs) == 6
    assert all(row["failed"] == 0 and 0.0 <= row["mean"] <= 1.0 for row in result.rows)
    assert result.rows[0]["mean"] >= result.rows[1]["mean"]  # accuracy: higher is better
    assert len({run["seed"] for run in result.runs}) == 6


@pytest.mark.parametrize("fit_options", [None, {"callbacks": [fn.TerminateOnNaN()]}])
def test_a_diverging_run_is_reported_and_the_others_kept(fit_options):
    X, y = _data()
    X = X * 1e3  # with a huge learning rate this overflows float32 at once
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a run's warnings are kept in its record, not raised
        result = ms.sweep(build, X, y, {"learning_rate": [0.01, 1e30]}, epochs=EPOCHS,
                          n_jobs=1, fit_options=fit_options)
    good, bad = result.rows
    diverged = result.runs[1]
    assert diverged["epochs"] == 1 and np.isnan(diverged["history"]["loss"][0])
    if fit_options:
        assert any("NaN or infinite" in message for message in diverged["warnings"])
    assert good["setting"] == {"learning_rate": 0.01} and good["failed"] == 0
    assert np.isfinite(good["mean"])
    assert bad["failed"] == 1 and np.isnan(bad["mean"])
    assert "FloatingPointError" in bad["errors"][0]
    assert "FloatingPointError" in result.table().splitlines()[-1]


def test_sweeps_are_reproducible():
    X, y = _data()
    grid = {"learning_rate": [0.05, 0.2]}
    first = ms.sweep(build, X, y, grid, cv=2, epochs=EPOCHS, seed=5, n_jobs=1)
    second = ms.sweep(build, X, y, grid, cv=2, epochs=EPOCHS, seed=5, n_jobs=1)
    _same_runs(first, second)
    other = ms.sweep(build, X, y, grid, cv=2, epochs=EPOCHS, seed=6, n_jobs=1)
    assert [r["seed"] for r in other.runs] != [r["seed"] for r in first.runs]


@pytest.mark.parametrize("kwargs, message", [
    ({"grid": {"momentum_typo": [0.9]}}, "build_fn"),
    ({"grid": {"learning_rate": []}}, "is empty"),
    ({"grid": {"learning_rate": 0.1}}, "must be a list"),
    ({"metric": "r2"}, "not compiled into the model"),
    ({"metric": "auc"}, "unknown metric"),
    ({"fit_options": {"epochs": 3}}, "the sweep sets them"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"scheduler": "localhost:8786"}, "tcp://HOST"),
])
def test_bad_sweep_arguments_raise_value_error(kwargs, message):
    X, y = _data(20)
    args = {"grid": {"learning_rate": [0.1]}, **kwargs}
    grid = args.pop("grid")
    with pytest.raises(ValueError, match=message):
        ms.sweep(build, X, y, grid, epochs=1, **args)


# ----------------------------------------------------------------------------- where runs execute
GRID = {"optimizer": ["sgd", "adam"], "learning_rate": [0.05, 0.2]}


@pytest.fixture(scope="module")
def reference():
    X, y = _data()
    return X, y, ms.sweep(build, X, y, GRID, cv=2, epochs=EPOCHS, seed=11, n_jobs=1)


def _compiled_nothing(result):
    """Every run names its worker and compiled nothing (the kernels are in the warm cache, or
    the worker has them from an earlier run); compile_seconds has every worker."""
    assert {r["worker"] for r in result.runs} == set(result.compile_seconds)
    assert all(r["compiled"] == 0 and r["compile_seconds"] == 0.0 for r in result.runs)
    assert set(result.compile_seconds.values()) == {0.0}


def test_local_processes_give_the_same_results_as_this_process(reference):
    X, y, expected = reference
    in_processes = ms.sweep(build, X, y, GRID, cv=2, epochs=EPOCHS, seed=11, n_jobs=2)
    _same_runs(in_processes, expected)
    assert sweep_runners.worker_name() not in in_processes.compile_seconds
    _compiled_nothing(in_processes)


def test_a_worker_that_compiles_says_so_once_and_the_result_says_how_long(reference, caplog,
                                                                          monkeypatch):
    """Compiling simulated (the kernels are cached): the compile watch starts as Numba's first
    compile event would start it, in every run."""
    import contextlib

    from fastnn import compile_cache

    real_watch = compile_cache.watch_compiles

    @contextlib.contextmanager
    def watch(on_start=None):
        with real_watch(on_start) as watcher:
            on_start()
            watcher.seconds = 0.25
            yield watcher

    X, y, _ = reference
    monkeypatch.setattr(compile_cache, "watch_compiles", watch)
    monkeypatch.setattr(sweep_runners, "_said_compiling", False)
    with caplog.at_level("WARNING", logger="fastnn"):
        result = ms.sweep(build, X, y, GRID, cv=2, epochs=EPOCHS, seed=11, n_jobs=1)
    notes = [r.getMessage() for r in caplog.records if "compiled kernels" in r.getMessage()]
    assert notes == [f"worker {sweep_runners.worker_name()} has no compiled kernels for its runs: "
                     f"compiling fastnn's kernels for this CPU (about "
                     f"{compile_cache.measured_compile_seconds():.0f} s, "
                     f"once: they are kept in {compile_cache.CACHE_DIR})"]
    assert result.compile_seconds == {sweep_runners.worker_name(): 0.25 * len(result.runs)}


@pytest.fixture(scope="module")
def dask_cluster():
    """Two single-threaded worker processes on the loopback interface. The scheduler (in this
    process) gives a task up at the first worker death it causes, and hands each worker one task
    at a time, so that a death touches only the run that caused it."""
    pytest.importorskip("distributed")
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            yield cluster


def test_a_dask_cluster_gives_the_same_results_as_the_local_run(reference, dask_cluster,
                                                                 monkeypatch):
    X, y, expected = reference
    on_dask = ms.sweep(build, X, y, GRID, cv=2, epochs=EPOCHS, seed=11,
                       scheduler=dask_cluster.scheduler_address)
    _same_runs(on_dask, expected)
    _compiled_nothing(on_dask)
    monkeypatch.setenv(sweep_runners.SCHEDULER_ENV, dask_cluster.scheduler_address)
    _same_runs(ms.sweep(build, X, y, GRID, cv=2, epochs=EPOCHS, seed=11), expected)


def test_a_worker_killed_mid_sweep_is_reported_and_the_other_results_kept(dask_cluster):
    X, y = _data()
    grid = {"crash": [False, True], "learning_rate": [0.05, 0.2]}
    result = ms.sweep(build, X, y, grid, epochs=EPOCHS, seed=11,
                      scheduler=dask_cluster.scheduler_address)
    crashed = [r for r in result.runs if r["setting"]["crash"]]
    survived = [r for r in result.runs if not r["setting"]["crash"]]
    assert len(crashed) == len(survived) == 2
    assert all(r["score"] is None and "KilledWorker" in r["error"] for r in crashed)
    assert all(r["error"] is None and np.isfinite(r["score"]) for r in survived)
    assert [row["failed"] for row in result.rows] == [0, 0, 1, 1]
    assert "KilledWorker" in result.table().splitlines()[-1]
    # the survivors' numbers are those of the same runs made in this process
    local = ms.sweep(build, X, y, {"crash": [False], "learning_rate": [0.05, 0.2]},
                     epochs=EPOCHS, seed=11, n_jobs=1)
    assert [r["score"] for r in survived] == [r["score"] for r in local.runs]
