"""The time-budget search (fastnn.tune, TabularModel.tune, fastnn train --budget) on tiny
tables: reproducible candidates, the budget kept, Ctrl-C keeping the best, ensembles that
average and round-trip."""

import itertools
import json

import numpy as np
import pandas as pd
import pytest

import fastnn
from fastnn.tabular import tune as tune_mod
from fastnn.tabular.options import OptionError, TrainOptions
from cli_runner import run

# Short fits of small networks: the search's mechanics, not its scores (the layers given stay
# fixed; the other options are drawn).
FAST = {"epochs": 3, "early_stopping": 0, "layers": (8,)}


@pytest.fixture(scope="module")
def table():
    """60 rows, 3 classes, a numeric and a categorical feature."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(60)
    colour = rng.choice(["red", "blue"], 60)
    label = np.where(x > 0.5, "high", np.where(x < -0.5, "low", "mid"))
    return pd.DataFrame({"x": x, "colour": colour, "label": label})


@pytest.fixture(scope="module")
def searched(table):
    """A k-fold search of 3 trials keeping the best 2, and its progress calls."""
    calls = []
    model = fastnn.tune(table, 600, ensemble=2, max_trials=3, progress=calls.append, seed=1,
                        **FAST)
    return model, calls


def test_candidates_come_from_the_seed_and_keep_the_options_given():
    first = list(itertools.islice(tune_mod.candidates(5, TrainOptions()), 6))
    assert first == list(itertools.islice(tune_mod.candidates(5, TrainOptions()), 6))
    assert first != list(itertools.islice(tune_mod.candidates(6, TrainOptions()), 6))
    assert first[0] == TrainOptions()
    fixed = list(itertools.islice(tune_mod.candidates(5, TrainOptions(layers=(8,), lr=0.01)), 6))
    assert all(c.layers == (8,) and c.lr == 0.01 for c in fixed)
    # every draw is made, so the other options are those of the free search
    assert [c.dropout for c in fixed] == [c.dropout for c in first]
    for candidate in first[1:]:
        assert candidate.layers in tune_mod.SPACE["layers"]
        assert tune_mod.SPACE["lr"][0] <= candidate.lr <= tune_mod.SPACE["lr"][1]


def test_progress_names_each_trial_and_the_best_two_are_averaged(searched):
    model, calls = searched
    report = model.tune_report
    assert [c["trial"] for c in calls] == [1, 2, 3]
    scores = [c["score"] for c in calls]
    assert [c["best"] for c in calls] == [max(scores[:k + 1]) for k in range(3)]
    assert calls[0]["options"] == {} and calls[1]["options"]
    assert report["validation"] == "5-fold" and report["stopped"] == "max_trials"
    ranked = sorted(report["trials"], key=lambda t: (-t["score"], t["loss"]))
    assert report["members"] == [t["trial"] for t in ranked[:2]]
    # each trial is cross-fitted: the two best trials' five networks each, no fit of their own
    assert isinstance(model.network, fastnn.Ensemble) and len(model.network.members) == 10
    assert [m["trial"] for m in model.settings["search"]["members"]] == report["members"]


def test_an_ensemble_predicts_the_average_and_round_trips(searched, table, tmp_path):
    model, _ = searched
    X = model.inputs(table)
    members = [model.target_encoder.probabilities(m.predict(X)) for m in model.network.members]
    proba = model.predict_proba(table)
    np.testing.assert_allclose(proba, np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "ensemble.fnn")
    loaded = fastnn.TabularModel.load(tmp_path / "ensemble.fnn")
    assert isinstance(fastnn.load_model(tmp_path / "ensemble.fnn"), fastnn.Ensemble)
    np.testing.assert_array_equal(loaded.predict_proba(table), proba)
    assert list(loaded.predict(table)) == list(model.predict(table))
    scores = loaded.evaluate(table)
    assert scores["accuracy"] == np.mean(model.predict(table) == table["label"].to_numpy())
    codes = model.target_encoder.codes(table["label"])
    expected_loss = -np.mean(np.log(np.clip(proba[np.arange(len(codes)), codes], 1e-7, 1)))
    assert scores["loss"] == pytest.approx(expected_loss, rel=1e-4)


def test_an_ensemble_exports_to_onnx_as_the_mean(searched, table, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model, _ = searched
    path = model.to_onnx(tmp_path / "ensemble.onnx")
    session = ort.InferenceSession(str(path))
    feeds = {"x": table[["x"]].to_numpy(np.float64),
             "colour": table[["colour"]].to_numpy(object)}
    label, proba = session.run(["label", "probabilities"], feeds)
    np.testing.assert_allclose(proba, model.predict_proba(table), rtol=1e-4, atol=1e-5)
    assert list(label) == list(model.predict(table))


def test_a_trials_work_grows_with_its_networks_epochs_rows_and_widths(searched):
    search = tune_mod.Search(fastnn.TabularModel(), 10, 1, None, None, {})
    search.frame, search.task, search.seed = range(100), "multiclass", 0
    search.widths = (4, 3)
    base = TrainOptions(layers=(8,), epochs=10, val_split=0.2, cross_fit=1)
    assert search.work(base) == 10 * 80 * (4 * 8 + 8 * 3)
    assert search.work(base.replace(epochs=20)) == 2 * search.work(base)
    assert search.work(base.replace(layers=(8, 8))) == 10 * 80 * (4 * 8 + 8 * 8 + 8 * 3)
    # cross-fitted over 4 folds: 4 networks, each on three quarters of the rows
    assert search.work(base.replace(cross_fit=4)) == 4 * 10 * 75 * (4 * 8 + 8 * 3)


def test_a_class_rarer_than_the_folds_is_kept_and_the_trial_scored(table):
    rare = table.copy()
    rare.loc[0, "label"] = "rare"
    model = fastnn.tune(rare, 600, max_trials=1, seed=1, **FAST)
    assert "rare" in model.classes_ and model.tune_report["trials"][0]["score"] is not None


def test_a_table_of_fewer_rows_than_folds_is_cross_fitted_once_per_row(table):
    model = fastnn.tune(table.iloc[:3], 600, max_trials=1, seed=1, **FAST)
    assert model.tune_report["validation"] == "3-fold" and model.tune_report["networks"] == 3


def test_the_ensemble_keeps_only_as_many_trials_as_a_model_file_holds_networks(table,
                                                                              monkeypatch):
    monkeypatch.setattr(tune_mod, "MAX_MEMBERS", 7)  # one cross-fitted trial: 5 networks
    model = fastnn.tune(table, 600, ensemble=2, max_trials=2, seed=1, **FAST)
    report = model.tune_report
    assert len(report["members"]) == 1 and report["networks"] == 5
    assert len(model.network.members) == 5


def test_larger_tables_use_a_hold_out_and_keep_the_trials_models(table, monkeypatch):
    monkeypatch.setattr(tune_mod, "KFOLD_MAX_ROWS", 10)
    model = fastnn.tune(table, 600, ensemble=2, max_trials=2, seed=3, **FAST)
    report = model.tune_report
    assert report["validation"] == "hold-out"
    assert sorted(report["members"]) == [1, 2]
    assert model.data_info["validation_rows"] == model.fit_report["rows"]["validation"] > 0


class TickingClock:
    """A stand-in for the time module in fastnn.tabular.tune: every reading is ``tick`` seconds
    after the last, so the search's deadlines depend on its own steps, not on the machine."""

    def __init__(self, tick):
        self.now, self.tick = 0.0, tick

    def monotonic(self):
        self.now += self.tick
        return self.now


def test_the_budget_is_kept_within_one_trial(table, monkeypatch):
    clock = TickingClock(0.5)
    monkeypatch.setattr(tune_mod, "time", clock)
    model = fastnn.tune(table, 200, seed=2, **FAST)
    report = model.tune_report
    longest = max(t["seconds"] for t in report["trials"])
    assert report["stopped"] == "budget" and len(report["trials"]) > 1
    assert report["seconds"] <= 200 + longest
    assert clock.now <= 200 + longest + 1  # nothing ran on after the search reported


def test_ctrl_c_keeps_the_best_so_far(table):
    calls = []

    def interrupt_at_two(info):
        calls.append(info)
        if info["trial"] == 2:
            raise KeyboardInterrupt

    model = fastnn.TabularModel(seed=1, **FAST)
    with pytest.raises(KeyboardInterrupt):
        model.tune(table, 600, ensemble=1, progress=interrupt_at_two)
    report = model.tune_report
    assert report["stopped"] == "interrupted" and len(report["trials"]) == 2
    best = min(report["trials"], key=lambda t: (-t["score"], t["loss"]))
    assert report["members"] == [best["trial"]]
    assert len(model.predict(table)) == len(table)


@pytest.mark.parametrize("arguments, option", [
    ({"budget": 0}, "budget"), ({"budget": float("nan")}, "budget"), ({"budget": True}, "budget"),
    ({"ensemble": 0}, "ensemble"), ({"ensemble": 65}, "ensemble"),
    ({"max_trials": 0}, "max_trials"), ({"sample_weight": [1.0] * 60}, "sample_weight"),
])
def test_bad_arguments_name_the_argument(table, arguments, option):
    arguments = {"budget": 10, **arguments}
    with pytest.raises(OptionError, match=option):
        fastnn.TabularModel().tune(table, arguments.pop("budget"), **arguments)


def test_the_command_saves_an_ensemble_that_the_other_commands_use(table, tmp_path):
    data = tmp_path / "table.csv"
    table.to_csv(data, index=False)
    out = tmp_path / "model.fnn"
    result = run("train", data, "--budget", 1, "--ensemble", 2, "--epochs", 3,
                 "--early-stopping", 0, "--layers", 8, "--out", out)
    assert "trial 1: accuracy" in result.stderr
    assert "networks averaged) to" in result.stderr
    info = json.loads(run("info", out, "--json").stdout)
    evaluated = json.loads(run("evaluate", out, data, "--json").stdout)
    assert evaluated["rows"] == 60
    predicted = run("predict", out, data).stdout.splitlines()
    assert predicted[0] == "label" and len(predicted) == 61
    run("export", out, tmp_path / "model.onnx")
    members = fastnn.TabularModel.load(out).tune_report
    assert members is None  # the search's report is the command's, not the file's
    assert "search" in info["settings"]


def test_ctrl_c_in_the_command_saves_the_best_so_far_and_exits_130(table, tmp_path,
                                                                    monkeypatch):
    data, out = tmp_path / "table.csv", tmp_path / "model.fnn"
    table.to_csv(data, index=False)
    report = tune_mod.Search.report

    def interrupt_after_two(search, trial):
        report(search, trial)
        if trial.number == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(tune_mod.Search, "report", interrupt_after_two)
    result = run("train", data, "--budget", 600, "--epochs", 3, "--layers", 8, "--out", out,
                 code=130)
    assert "interrupted after 2 trial(s); saved the best so far" in result.stderr
    assert len(fastnn.TabularModel.load(out).predict(data)) == 60


@pytest.mark.parametrize("args, message", [
    (["--ensemble", "2"], "--ensemble needs --budget"),
    (["--budget", "5", "--history", "h.csv"], "--history describes one training run"),
    (["--budget", "0"], "--budget"),
])
def test_the_commands_budget_options_are_checked(table, tmp_path, args, message):
    data = tmp_path / "table.csv"
    table.to_csv(data, index=False)
    result = run("train", data, *args, code=2)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "table.fnn").exists() and not (tmp_path / "h.csv").exists()
