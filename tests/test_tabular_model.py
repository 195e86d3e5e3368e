"""fastnn.TabularModel: the Python object behind ``fastnn train``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnn as fn
from fastnn.tabular import scores

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FAST = {"epochs": 5, "layers": (8,), "early_stopping": 0, "lr": 0.01, "cross_fit": 1}


@pytest.fixture(scope="module")
def penguins():
    frame = pd.read_csv(EXAMPLES / "penguins.csv")
    return frame, fn.TabularModel(target="species", **FAST).fit(frame)


def test_import_fastnn_needs_none_of_the_commands_libraries():
    code = ("import sys, fastnn; print([m for m in ('pandas', 'click', 'rich', 'pyarrow', "
            "'joblib', 'onnx', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fit_predict_evaluate_save_load(penguins, tmp_path):
    frame, model = penguins
    assert model.fit_report["rows"] == {"train": 275, "validation": 69}
    assert list(model.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    labels = model.predict(frame)
    assert labels.dtype == object and set(labels) <= set(model.classes_)
    proba = model.predict_proba(frame)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert (model.classes_[proba.argmax(axis=1)] == labels).all()
    result = model.evaluate(frame)
    assert result["rows"] == 344 and result["accuracy"] == pytest.approx(
        np.mean(labels == frame["species"]))
    model.save(tmp_path / "p.fnn")
    again = fn.TabularModel.load(tmp_path / "p.fnn")
    np.testing.assert_array_equal(again.predict_proba(frame), proba)
    assert again.evaluate(frame) == result


def test_evaluate_is_the_dict_of_fastnn_evaluate_json(penguins, tmp_path):
    from fastnn_cli import cli

    frame, model = penguins
    model.save(tmp_path / "p.fnn")
    frame.to_csv(tmp_path / "p.csv", index=False)
    result = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "p.fnn"),
                                      str(tmp_path / "p.csv"), "--json"])
    printed = json.loads(result.stdout)
    assert printed.pop("model") == str(tmp_path / "p.fnn")
    assert printed.pop("data") == str(tmp_path / "p.csv")
    assert printed == json.loads(json.dumps(model.evaluate(frame)))


@pytest.mark.parametrize("labels, kind", [([3, 7], "i"), (["no", "yes"], "O"),
                                          ([True, False], "b"), ([0.5, 1.5], "f")])
def test_labels_come_out_in_the_training_label_type(labels, kind):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(40)
    frame = pd.DataFrame({"x": x, "y": np.where(x > 0, labels[1], labels[0])})
    model = fn.TabularModel(task="binary", epochs=2, val_split=0).fit(frame)
    assert model.predict(frame).dtype.kind == kind


def test_arrow_tables_and_paths_give_the_same_model_as_a_dataframe():
    pa = pytest.importorskip("pyarrow")
    frame = pd.read_csv(EXAMPLES / "iris.csv")
    weights = [fn.TabularModel(epochs=2, layers=(4,), cross_fit=1).fit(data).network.params
               for data in (frame, EXAMPLES / "iris.csv", pa.Table.from_pandas(frame))]
    np.testing.assert_array_equal(weights[0], weights[1])
    np.testing.assert_array_equal(weights[0], weights[2])


def binary_frame(n=200, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(n) > 0.8, "yes", "no")
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})


def test_threshold_auto_is_the_f1_best_on_the_validation_rows_and_is_saved(tmp_path):
    frame = binary_frame()
    model = fn.TabularModel(threshold="auto", **FAST).fit(frame)
    from fastnn.model_selection import make_splits

    codes = (frame["y"] == "yes").to_numpy().astype(int)
    _, val = make_splits(len(frame), None, stratify=codes, seed=0)[0]
    scores_val = model.network.predict(model.inputs(frame.iloc[val]))[:, 0]
    assert model.threshold == scores.best_threshold(codes[val] == 1, scores_val)
    model.save(tmp_path / "b.fnn")
    assert fn.TabularModel.load(tmp_path / "b.fnn").threshold == model.threshold
    low = model.evaluate(frame, threshold=0.0)
    assert low["threshold"] == 0.0 and low["recall"] == 1.0
    assert (model.predict(frame, threshold=1.0) == "no").all()


def test_a_file_written_by_fastnn_train_before_format_2_still_loads():
    """tests/data/penguins_v1.fnn: `fastnn train examples/penguins.csv --target species
    --layers 4 --epochs 3` at the commit before the tabular model (format 1)."""
    model = fn.TabularModel.load(ROOT / "tests" / "data" / "penguins_v1.fnn")
    frame = pd.read_csv(EXAMPLES / "penguins.csv").head(3)
    np.testing.assert_allclose(model.predict_proba(frame), [
        [0.142446368932724, 0.1356116533279419, 0.7219420075416565],
        [0.19007249176502228, 0.1533433347940445, 0.6565842032432556],
        [0.2264956533908844, 0.20847907662391663, 0.565025269985199]], rtol=1e-6)
    assert list(model.predict(frame)) == ["Gentoo"] * 3


def test_seed_none_draws_a_seed_and_records_it():
    model = fn.TabularModel(seed=None, epochs=1).fit(binary_frame(40))
    assert isinstance(model.settings["seed"], int) and model.options.seed is None


def test_drop_and_messages_through_logging(caplog):
    frame = binary_frame(60)
    frame["id"] = [f"row{k}" for k in range(60)]
    frame.loc[2, "b"] = np.nan
    model = fn.TabularModel(target="y", drop=["a"], epochs=1).fit(frame)
    assert model.features.names == ["b"] and model.features.ignored == ["a", "id"]
    messages = [r.getMessage() for r in caplog.records if r.name == "fastnn"]
    assert "filled 1 missing numeric value(s) with the training median" in messages
    assert any(m.startswith("left out column 'id'") for m in messages)
    model.predict(frame)  # the dropped and left-out columns may be present
    with pytest.raises(ValueError, match="drop 'nope': not a column"):
        fn.TabularModel(drop=["nope"]).fit(frame)


def test_ctrl_c_keeps_a_fitted_model_and_raises_again():
    class Interrupt(fn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = fn.TabularModel(epochs=50, layers=(4,))
    with pytest.raises(KeyboardInterrupt):
        model.fit(binary_frame(60), callbacks=[Interrupt()])
    assert model.fit_report["stopped"] == "interrupted" and model.fit_report["epochs"] == 2
    assert len(model.predict(binary_frame(5))) == 5


def test_train_and_sweep_hold_out_the_same_rows(monkeypatch, tmp_path):
    """Both commands split with model_selection.make_splits, with the same arguments."""
    from fastnn import model_selection
    from fastnn_cli import cli

    seen = []
    real = model_selection.make_splits

    def spy(*args, **kwargs):
        splits = real(*args, **kwargs)
        seen.append(splits[0][1])
        return splits

    monkeypatch.setattr(model_selection, "make_splits", spy)
    data = EXAMPLES / "iris.csv"
    common = ["--epochs", "1", "--layers", "2", "--seed", "5", "--val-split", "0.3"]
    for args in (["train", data, "--out", tmp_path / "m.fnn", "--cross-fit", "1"],
                 ["sweep", data, "--jobs", "1"]):
        result = CliRunner().invoke(cli, [str(a) for a in args] + common + ["--quiet"])
        assert result.exit_code == 0, result.output
    train_rows, sweep_rows = seen
    assert len(train_rows) == 45
    np.testing.assert_array_equal(train_rows, sweep_rows)


@pytest.mark.parametrize("options, message", [
    ({"val_split": float("nan")}, "val_split must be a finite number in [0, 1), got nan"),
    ({"layers": "64"}, "layers must be a sequence of positive integers"),
    ({"activation": "softmax"}, "softmax cannot be a hidden activation"),
    ({"activation": "step"}, "step cannot be a hidden activation (it has no gradient)"),
    ({"threshold": "high"}, "threshold must be a finite number"),
    ({"high_cardinality": "keep"}, "high_cardinality must be one of drop, top, hash"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError) as info:
        fn.TabularModel(**options)
    assert message in str(info.value)


def test_corrupt_tabular_metadata_is_a_model_file_error(penguins, tmp_path):
    frame, model = penguins
    model.save(tmp_path / "ok.fnn")
    network = fn.load_model(tmp_path / "ok.fnn")
    stored = network.metadata["fastnn_cli"]
    cases = {"features": [], "target": {**stored["target"], "classes": None},
             "format_version": 99}
    for key, value in cases.items():
        network.save(tmp_path / "bad.fnn", metadata={"fastnn_cli": {**stored, key: value}})
        with pytest.raises(fn.ModelFileError) as info:
            fn.TabularModel.load(tmp_path / "bad.fnn")
        assert str(info.value).startswith(f"{tmp_path / 'bad.fnn'}: ")
