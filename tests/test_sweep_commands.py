"""``fastnn cv`` and ``fastnn sweep`` through Click's CliRunner, on the example tables."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fastnn.tabular.options import TrainOptions
from fastnn_cli.sweep_commands import SplitEncoder
from cli_runner import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IRIS = EXAMPLES / "iris.csv"
FAST = ["--epochs", "5", "--early-stopping", "0", "--layers", "8", "--jobs", "1"]


def test_cv_reports_every_fold_and_their_mean():
    report = json.loads(run("cv", IRIS, "--folds", "3", *FAST, "--json").stdout)
    assert (report["task"], report["metric"], report["splits"]) == ("multiclass",
                                                                    "val_accuracy", 3)
    (row,) = report["rows"]
    assert len(row["scores"]) == 3 and row["failed"] == 0
    assert row["mean"] == pytest.approx(np.mean(row["scores"]))
    assert [run["fold"] for run in report["runs"]] == [0, 1, 2]
    assert all(len(run["history"]["val_accuracy"]) == 5 for run in report["runs"])
    # --jobs 1: this process ran every fold; compiling took what its runs say
    (worker,) = {run["worker"] for run in report["runs"]}
    seconds = [run["compile_seconds"] for run in report["runs"]]
    assert min(seconds) >= 0 and report["compile_seconds"] == {worker: pytest.approx(sum(seconds))}


def test_sweep_over_three_optimizers_ranks_them_with_curves():
    report = json.loads(run("sweep", IRIS, "--opt", "sgd,momentum,adam", *FAST,
                            "--json").stdout)
    rows = report["rows"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    assert sorted(row["opt"] for row in rows) == ["adam", "momentum", "sgd"]
    means = [row["mean"] for row in rows]
    assert means == sorted(means, reverse=True)  # accuracy: higher is better
    assert all(len(run["history"]["val_loss"]) == 5 for run in report["runs"])


def test_sweep_with_folds_prints_the_table_and_plots_every_curve(tmp_path):
    plot = tmp_path / "curves.png"
    result = run("sweep", IRIS, "--dropout", "0,0.3", "--folds", "2", *FAST, "--plot", plot)
    lines = result.stderr.splitlines()
    assert any(line.startswith("rank  dropout  val_accuracy mean") for line in lines)
    assert "2 fold(s)" in result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_regression_target_is_ranked_by_r2():
    report = json.loads(run("cv", EXAMPLES / "penguins.csv", "--target", "body_mass_g",
                            "--folds", "2", *FAST, "--json").stdout)
    assert (report["task"], report["metric"]) == ("regression", "val_r2")
    assert report["rows"][0]["failed"] == 0


def test_a_diverging_setting_is_reported_and_the_others_kept():
    report = json.loads(run("sweep", IRIS, "--opt", "sgd", "--lr", "0.05,1e30", *FAST,
                            "--json").stdout)
    good, bad = report["rows"]
    assert good["lr"] == 0.05 and good["failed"] == 0
    assert bad["lr"] == 1e30 and bad["failed"] == 1 and "FloatingPointError" in bad["errors"][0]
    result = run("sweep", IRIS, "--opt", "sgd", "--lr", "1e30", *FAST, code=1)
    assert "FloatingPointError" in result.stderr and "1 run(s) failed" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["sweep", IRIS, "--opt", "sgd,nope"], "'nope' is not one of"),
    (["sweep", IRIS, "--dropout", "0,1"], "0<=x<1"),
    (["sweep", IRIS, "--opt", "sgd,,adam"], "empty value"),
    (["cv", IRIS, "--folds", "1"], "x>=2"),
    (["sweep", IRIS, "--val-split", "0"], "validation_fraction"),
    (["cv", IRIS, "--scheduler", "localhost:8786"], "tcp://HOST"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    result = run(*args, *FAST, code=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_each_splits_encoding_is_fitted_on_its_training_rows():
    frame = pd.DataFrame({"x": np.arange(10.0), "colour": list("rgbrgbrg") + [None, "k"],
                          "y": np.arange(10.0) * 2})
    encode = SplitEncoder("y", "regression", "mse", TrainOptions())
    train = np.arange(6)
    X, y = encode(frame, frame["y"], train)
    assert X[train, 0].mean() == pytest.approx(0.0) and X[train, 0].std() == pytest.approx(1.0)
    assert X[6:, 0].mean() > 1.0  # the validation rows are scaled with the training statistics
    assert y[train].mean() == pytest.approx(0.0) and y[train].std() == pytest.approx(1.0)
    assert X.shape == (10, 4) and not X[8:, 1:].any()  # missing, and not in the training rows
    assert encode.missing_categories == 1
