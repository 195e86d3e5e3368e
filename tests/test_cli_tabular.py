"""The command's column control, output that composes, binary metrics and help, in-process."""

import gzip
import io
import json
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest

from fastnn_cli import cli
from cli_runner import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAST = ["--epochs", "5", "--layers", "8", "--early-stopping", "0", "--lr", "0.01",
        "--cross-fit", "1"]


def fail(*args, message):
    """One line on stderr naming the problem, exit 2, nothing on stdout."""
    result = run(*args, code=2)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    """A binary table with an id column, and a model trained on it with --threshold auto."""
    folder = tmp_path_factory.mktemp("binary")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((160, 2))
    frame = pd.DataFrame({"id": [f"c{k:03d}" for k in range(160)], "a": X[:, 0], "b": X[:, 1],
                          "churn": np.where(X[:, 0] + 0.3 * rng.standard_normal(160) > 0.7,
                                            "yes", "no")})
    frame.to_csv(folder / "churn.csv", index=False)
    report = json.loads(run("train", folder / "churn.csv", *FAST, "--threshold", "auto",
                            "--json").stdout)
    return folder, report


def test_threshold_auto_is_reported_stored_and_shown(binary):
    folder, report = binary
    assert 0 < report["threshold"] < 1
    info = run("info", folder / "churn.fnn").stdout
    assert f"decision threshold {report['threshold']:.6g}" in info
    assert "ignored if present: 'id'" in info  # left out: every value distinct


def test_binary_evaluate_has_ranking_metrics_and_the_confusion_matrix(binary):
    folder, report = binary
    result = json.loads(run("evaluate", folder / "churn.fnn", folder / "churn.csv",
                            "--json").stdout)
    assert result["threshold"] == report["threshold"]
    for key in ("roc_auc", "average_precision", "precision", "recall", "f1"):
        assert 0 <= result[key] <= 1
    assert result["confusion_matrix"]["labels"] == ["no", "yes"]
    assert np.sum(result["confusion_matrix"]["matrix"]) == 160
    everything = json.loads(run("evaluate", folder / "churn.fnn", folder / "churn.csv",
                                "--threshold", "-1", "--json").stdout)
    assert everything["recall"] == 1.0 and everything["confusion_matrix"]["matrix"][0][0] == 0
    table = run("evaluate", folder / "churn.fnn", folder / "churn.csv").stdout
    for word in ("roc_auc", "confusion matrix", "per class"):
        assert word in table


def test_predict_keeps_id_columns_and_writes_to_stdout_with_out_dash(binary):
    folder, _ = binary
    result = run("predict", folder / "churn.fnn", folder / "churn.csv", "--keep", "id",
                 "--out", "-", "--proba")
    preds = pd.read_csv(io.StringIO(result.stdout))
    assert list(preds.columns) == ["id", "churn", "proba_no", "proba_yes"]
    assert preds["id"].tolist() == [f"c{k:03d}" for k in range(160)]
    assert not (folder / "-").exists()
    high = pd.read_csv(io.StringIO(run("predict", folder / "churn.fnn", folder / "churn.csv",
                                       "--threshold", "2").stdout))
    assert set(high["churn"]) == {"no"}
    fail("predict", folder / "churn.fnn", folder / "churn.csv", "--keep", "nope",
         message="Error: cannot keep 'nope': not a column")


def test_drop_sep_and_compressed_files(tmp_path):
    frame = pd.read_csv(EXAMPLES / "iris.csv")
    with gzip.open(tmp_path / "iris.csv.gz", "wt") as f:
        frame.to_csv(f, index=False, sep=";")
    result = run("train", tmp_path / "iris.csv.gz", *FAST, "--drop", "petal width (cm)")
    assert "read as semicolon-separated (detected; --sep chooses)" in result.stderr
    described = json.loads(run("info", tmp_path / "iris.fnn", "--json").stdout)
    assert [c["name"] for c in described["features"]["columns"]] == [
        "sepal length (cm)", "sepal width (cm)", "petal length (cm)"]
    fail("train", tmp_path / "iris.csv.gz", "--sep", ",", "--out", tmp_path / "x.fnn",
         message="the table has only the column")
    fail("train", tmp_path / "iris.csv.gz", "--sep", ";", "--drop", "nope", "--out",
         tmp_path / "x.fnn",
         message="Error: --drop 'nope': not a column")


def test_a_high_cardinality_column_is_named_and_can_be_kept(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"name": [f"n{k}" for k in range(90)], "x": rng.standard_normal(90)})
    frame["y"] = (frame["x"] > 0).astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run("train", tmp_path / "t.csv", *FAST)
    # counted on the training rows (80%)
    assert "warning: left out column 'name': 72 distinct values in 72 rows" in result.stderr
    report = json.loads(run("train", tmp_path / "t.csv", *FAST, "--high-cardinality", "top",
                            "--max-levels", "10", "--json").stdout)
    assert report["inputs"] == 1 + 10


@pytest.mark.parametrize("content, message", [
    ("a,b,y\n" + "".join(f"{k},{k % 3},{k % 2}\n" for k in range(30)) + "oops,1,0\n",
     "column 'a' holds numbers but also the text 'oops' in row 31"),
    ("a,b,y\n1,1e400,0\n2,3,1\n3,4,0\n4,5,1\n", "column 'b' has the non-finite value inf in row 1"),
    ("a ,a,y\n1,2,0\n3,4,1\n", "the column name 'a' appears twice"),
])
def test_bad_values_are_one_line_naming_column_and_row(tmp_path, content, message):
    (tmp_path / "t.csv").write_text(content)
    fail("train", tmp_path / "t.csv", "--out", tmp_path / "m.fnn", message=message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_huge_values_train_without_numpy_warnings(tmp_path):
    frame = pd.DataFrame({"x": [1e308, -1e308, 0.0, 5.0] * 10, "y": [0, 1] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = run("train", tmp_path / "t.csv", "--epochs", "2")
    assert "RuntimeWarning" not in result.stderr and "warning" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--opt", "adamm"], "'adamm' is not one of"),
    (["--opt", "adamm"], "Did you mean 'adam'"),
    (["--activation", "relu6"], "Did you mean 'relu'"),
    (["--activation", "softmax"], "'softmax' is not one of"),
    (["--val-split", "nan"], "Invalid value for '--val-split': 'nan' is not a finite number"),
    (["--class-weight", "heavy"], "neither 'balanced' nor a JSON object"),
    (["--threshold", "high"], "neither a finite number nor 'auto'"),
])
def test_option_values_are_checked_with_suggestions(tmp_path, args, message):
    fail("train", EXAMPLES / "iris.csv", *args, "--out", tmp_path / "m.fnn", message=message)


def commands():
    group = cli
    return {name: group.commands[name] for name in group.commands}


def test_every_option_has_a_description_and_choices_wrap():
    for name, command in commands().items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts[0]} has no help"
        text = command.get_help(click.Context(command, info_name=name))
        assert max(len(line) for line in text.splitlines()) <= 80, name


def test_help_offers_only_what_works():
    help_text = {name: c.get_help(click.Context(c, info_name=name))
                 for name, c in commands().items()}
    assert "--val-split" not in help_text["cv"]
    activation = help_text["train"].split("--activation")[1].split("--opt")[0]
    assert "relu" in activation and "step" not in activation and "softmax" not in activation


@pytest.mark.parametrize("interval, lines", [(1e9, ["epoch 4/4"]),
                                             (0.0, [f"epoch {k}/4" for k in range(1, 5)])])
def test_progress_off_a_terminal_is_one_line_per_epoch_at_most_every_few_seconds(
        tmp_path, monkeypatch, interval, lines):
    from fastnn_cli import output

    monkeypatch.setattr(output, "PROGRESS_INTERVAL", interval)
    result = run("train", EXAMPLES / "iris.csv", "--epochs", "4", "--cross-fit", "1", "--out",
                 tmp_path / "m.fnn")
    shown = [line.split(":")[0] for line in result.stderr.splitlines()
             if line.startswith("epoch ")]
    if interval:  # the first epoch's line, then nothing until the last
        assert shown == ["epoch 1/4"] + lines
    else:
        assert shown == lines


def test_the_commands_defaults_are_the_librarys():
    from fastnn.tabular.options import TrainOptions, names

    for command in ("train", "cv", "sweep"):
        ctx = cli.commands[command].make_context(command, ["data.csv"])
        given = {n: ctx.params[n] for n in names() if ctx.params.get(n) is not None}
        assert TrainOptions(**given) == TrainOptions(), command
    assert set(names()) <= {p.name for p in cli.commands["train"].params}
