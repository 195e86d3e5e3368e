"""The methods the default-settings study compares, each as ``run(table, train, test, seed,
workdir) -> Result``: one fit on the train frame, scored on the test frame.

    fastnn        the ``fastnn`` command as a user runs it: ``fastnn train TRAIN.csv --target T
                  [options] --out M.fnn --quiet --json`` then ``fastnn evaluate M.fnn TEST.csv
                  --json`` (two subprocesses; their start-up is part of the time); with
                  ``--budget`` in the options, the search's trials are recorded
    sklearn_mlp   scikit-learn's MLPClassifier / MLPRegressor with hidden_layer_sizes=(64, 32)
                  and its other defaults
    hgb           scikit-learn's HistGradientBoostingClassifier / Regressor, defaults
    realmlp_td    pytabkit's RealMLP_TD_Classifier / Regressor with its defaults on the CPU
                  (its own preprocessing of the raw frame, after missing numeric values are
                  filled with the training median, which it requires; optional: needs pytabkit)

The scikit-learn models see the same preprocessing as fastnn's command: numeric columns
median-imputed and standardised, string columns one-hot encoded (a missing value is its own
level, an unseen one all zeros). The regression target is given to them as it is (scikit-learn
scales features, not targets; fastnn's command and pytabkit standardise the target themselves).

Scores: accuracy for classification, R2 for regression, on the test rows. Times: wall seconds
from the start of fitting to the end of scoring, and the CPU seconds of that span (the
subprocesses' for fastnn).
"""

import json
import os
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Result:
    score: float
    seconds: float
    cpu_seconds: float
    details: dict = field(default_factory=dict)


def _cpu_seconds():
    """CPU seconds used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _score(task, predicted, actual):
    from sklearn.metrics import accuracy_score, r2_score

    if task == "regression":
        return float(r2_score(np.asarray(actual, dtype=np.float64),
                              np.asarray(predicted, dtype=np.float64)))
    return float(accuracy_score(np.asarray(actual).astype(str), np.asarray(predicted).astype(str)))


def _timed(work):
    """(work's return value, wall seconds, CPU seconds)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    value = work()
    return value, time.perf_counter() - wall, _cpu_seconds() - cpu


def fastnn_command(options=()):
    """A runner for the fastnn command with extra train ``options`` (a list of strings)."""
    def run(table, train, test, seed, workdir):
        train_csv, test_csv = (os.path.join(workdir, f"{part}.csv") for part in ("train", "test"))
        model = os.path.join(workdir, "model.fnn")
        train.to_csv(train_csv, index=False)
        test.to_csv(test_csv, index=False)
        command = [sys.executable, "-m", "fastnn_cli"]

        def work():
            trained = _check_output(command + ["train", train_csv, "--target", table.target,
                                               "--seed", str(seed), *options, "--out", model,
                                               "--quiet", "--json"])
            scored = _check_output(command + ["evaluate", model, test_csv, "--quiet", "--json"])
            return json.loads(trained), json.loads(scored)

        (trained, scored), wall, cpu = _timed(work)
        if scored["task"] != table.task:
            raise RuntimeError(f"{table.name}: fastnn inferred the task {scored['task']}, "
                               f"expected {table.task}")
        metric = "r2" if table.task == "regression" else "accuracy"
        if "search" in trained:  # --budget: the search's trials instead of one run's epochs
            search = trained["search"]
            details = {"trials": len(search["trials"]), "members": len(search["members"]),
                       "validation": search["validation"]}
        else:
            details = {"epochs": trained["epochs"], "best_epoch": trained["best_epoch"]}
        return Result(float(scored[metric]), wall, cpu, details)
    return run


# The fastnn subprocesses run on one thread, as every method of the study does.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}


def _check_output(command):
    out = subprocess.run(command, capture_output=True, text=True,
                         env=dict(os.environ, **ONE_THREAD))
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed ({out.returncode}): "
                           f"{out.stderr.strip()[-1500:]}")
    return out.stdout


def _preprocessing(frame):
    """scikit-learn's equivalent of the command's feature preprocessing for ``frame``'s
    columns."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in frame.columns if frame[c].dtype.kind in "biuf"]
    categorical = [c for c in frame.columns if c not in numeric]
    return ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", make_pipeline(
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical)])


def _sklearn_runner(make_classifier, make_regressor):
    def run(table, train, test, seed, workdir):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.pipeline import make_pipeline

        X, y = train.drop(columns=[table.target]), train[table.target]
        X_test, y_test = test.drop(columns=[table.target]), test[table.target]
        if table.task == "regression":
            estimator = make_regressor(seed)
        else:
            estimator = make_classifier(seed)
            y = y.astype(str)
        model = make_pipeline(_preprocessing(X), estimator)

        def work():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            return model.predict(X_test)

        predicted, wall, cpu = _timed(work)
        return Result(_score(table.task, predicted, y_test), wall, cpu)
    return run


def _mlp(kind):
    def make(seed):
        from sklearn import neural_network

        return getattr(neural_network, kind)(hidden_layer_sizes=(64, 32), random_state=seed)
    return make


def _hgb(kind):
    def make(seed):
        from sklearn import ensemble

        return getattr(ensemble, kind)(random_state=seed)
    return make


def realmlp_td(table, train, test, seed, workdir):
    import logging

    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor

    for name in ("lightning.pytorch", "pytorch_lightning", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)

    X, y = train.drop(columns=[table.target]), train[table.target]
    X_test, y_test = test.drop(columns=[table.target]), test[table.target]
    # RealMLP-TD refuses missing numeric values: the training median fills them, as in fastnn
    medians = X.median(numeric_only=True)
    X, X_test = X.fillna(medians), X_test.fillna(medians)
    if table.task == "regression":
        model = RealMLP_TD_Regressor(device="cpu", random_state=seed, n_threads=1)
        y = y.to_numpy(dtype=np.float64)
    else:
        model = RealMLP_TD_Classifier(device="cpu", random_state=seed, n_threads=1)
        y = y.astype(str).to_numpy()

    def work():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
            return model.predict(X_test)

    predicted, wall, cpu = _timed(work)
    return Result(_score(table.task, predicted, y_test), wall, cpu)


def realmlp_available():
    import importlib.util

    return importlib.util.find_spec("pytabkit") is not None


PEERS = {
    "sklearn_mlp": _sklearn_runner(_mlp("MLPClassifier"), _mlp("MLPRegressor")),
    "hgb": _sklearn_runner(_hgb("HistGradientBoostingClassifier"),
                           _hgb("HistGradientBoostingRegressor")),
    "realmlp_td": realmlp_td,
}
