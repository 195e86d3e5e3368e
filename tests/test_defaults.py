"""fastnn.defaults: the rule that turns (training rows, task) into fastnn train's default
settings (docs/defaults.md)."""

import json
import math

import pytest

from fastnn import defaults


@pytest.mark.parametrize("rows, batch, epochs", [
    (96, 32, math.ceil(defaults.MIN_UPDATES / 3)),      # iris-sized: many epochs
    (1000, 32, math.ceil(defaults.MIN_UPDATES / 32)),
    (50000, 32, defaults.MIN_EPOCHS),                   # large: the minimum epochs
    (1, 32, defaults.MIN_UPDATES),                      # one row: one update per epoch
    (96, 8, math.ceil(defaults.MIN_UPDATES / 12)),      # a batch size the user chose
])
def test_epochs_make_at_least_the_minimum_updates(rows, batch, epochs):
    assert defaults.epochs_for(rows, batch) == max(defaults.MIN_EPOCHS, epochs)
    assert defaults.epochs_for(rows, batch) * math.ceil(rows / batch) >= defaults.MIN_UPDATES


@pytest.mark.parametrize("epochs, patience", [
    (100, max(defaults.MIN_PATIENCE, round(100 * defaults.PATIENCE_SHARE))),
    (1000, max(defaults.MIN_PATIENCE, round(1000 * defaults.PATIENCE_SHARE))),
    (1, defaults.MIN_PATIENCE),
])
def test_patience_is_a_share_of_the_epochs(epochs, patience):
    assert defaults.patience_for(epochs) == patience


@pytest.mark.parametrize("task", defaults.TASKS)
@pytest.mark.parametrize("rows", [10, 96, 4000, 80000])
def test_train_defaults_are_json_ready_and_complete(rows, task):
    settings = defaults.train_defaults(rows, task)
    assert json.loads(json.dumps(settings)) == settings
    assert set(settings) == {"layers", "dropout", "batch_size", "epochs", "early_stopping",
                             "cross_fit"}
    assert settings["epochs"] == defaults.epochs_for(rows, settings["batch_size"])
    assert settings["early_stopping"] == defaults.patience_for(settings["epochs"])


@pytest.mark.parametrize("rows, task, layers, dropout", [
    (1, "binary", [64, 32], 0.2), (999, "multiclass", [64, 32], 0.2),
    (1000, "binary", [256, 256, 256], 0.3), (19999, "multiclass", [256, 256, 256], 0.3),
    (20000, "binary", [64, 32], 0.0), (10 ** 7, "multiclass", [64, 32], 0.0),
    (999, "regression", [64, 32], 0.2), (1000, "regression", [256, 128], 0.1),
    (20000, "regression", [64, 32], 0.0)])
def test_network_by_training_rows_and_task(rows, task, layers, dropout):
    assert defaults.network_for(rows, task) == (layers, dropout)
    settings = defaults.train_defaults(rows, task)
    assert (settings["layers"], settings["dropout"]) == (layers, dropout)


@pytest.mark.parametrize("rows, validated, folds", [
    (1, True, 1), (defaults.CROSS_FIT_FOLDS - 1, True, 1),  # too few rows for the folds
    (defaults.CROSS_FIT_FOLDS, True, defaults.CROSS_FIT_FOLDS),
    (defaults.CROSS_FIT_ROWS - 1, True, defaults.CROSS_FIT_FOLDS),
    (defaults.CROSS_FIT_ROWS, True, 1), (10 ** 6, True, 1),
    (96, False, 1)])  # no validation rows: nothing to cross-fit on
def test_small_tables_are_cross_fitted(rows, validated, folds):
    assert defaults.train_defaults(rows, "binary", validated=validated)["cross_fit"] == folds


def test_fewer_rows_get_more_epochs():
    epochs = [defaults.train_defaults(rows, "binary")["epochs"] for rows in (100, 1000, 100000)]
    assert epochs == sorted(epochs, reverse=True) and epochs[0] > epochs[-1]


@pytest.mark.parametrize("rows, task, message", [
    (0, "binary", "rows must be a positive integer"),
    (1.5, "binary", "rows must be a positive integer"),
    (True, "binary", "rows must be a positive integer"),
    (100, "auto", "task must be one of"),
])
def test_bad_arguments_are_refused(rows, task, message):
    with pytest.raises(ValueError, match=message):
        defaults.train_defaults(rows, task)


def test_fill_sets_only_what_is_missing_and_says_which():
    given = {"layers": [8], "dropout": None, "batch_size": 8, "seed": 3}
    filled = defaults.fill(given, rows=96, task="multiclass")
    assert filled["layers"] == [8] and filled["batch_size"] == 8 and filled["seed"] == 3
    assert filled["dropout"] == defaults.network_for(96, "multiclass")[1]
    assert filled["epochs"] == defaults.epochs_for(96, 8)  # counted in the batch size given
    assert "layers" not in filled["defaulted"] and "dropout" in filled["defaulted"]
    assert set(filled["defaulted"]) == set(defaults.train_defaults(96, "multiclass")) - {
        "layers", "batch_size"}
    assert given["dropout"] is None  # the argument is not changed



# ----------------------------------------------------------------------------- fastnn train
def test_every_rule_setting_defaults_to_the_rule_in_fastnn_train():
    from fastnn_cli import cli

    train = cli.commands["train"]
    parsed = train.make_context("train", ["data.csv"]).params  # no options given
    options = {p.name: p for p in train.params}
    for name in defaults.train_defaults(100, "binary"):
        assert parsed[name] is None, name  # filled by defaults.fill
        assert "[default:" in options[name].help, name


def test_train_without_options_uses_and_records_the_rule(tmp_path):
    import shutil
    from pathlib import Path

    from click.testing import CliRunner

    from fastnn_cli import cli

    data = tmp_path / "iris.csv"
    shutil.copy(Path(__file__).resolve().parent.parent / "examples" / "iris.csv", data)
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", str(data), "--out", str(tmp_path / "m.fnn"),
                                  "--json"])
    assert trained.exit_code == 0, trained.output
    info = json.loads(runner.invoke(cli, ["info", str(tmp_path / "m.fnn"), "--json"]).stdout)
    assert info["data"] == {"file": "iris.csv", "train_rows": 150, "validation_rows": 150}
    expected = defaults.train_defaults(120, "multiclass")  # each network's training rows
    assert {name: info["settings"][name] for name in expected} == expected
    assert sorted(info["settings"]["defaulted"]) == sorted(expected)
    assert json.loads(trained.stdout)["epochs"] <= expected["epochs"]
