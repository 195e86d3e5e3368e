"""Sample and class weights in TabularModel.fit and fastnn train: one weight per training row,
passed to Sequential.fit(sample_weight=...)."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnn as fn


def imbalanced(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = np.where(x + 0.8 * rng.standard_normal(n) > 1.2, "rare", "common")
    return pd.DataFrame({"x": x, "w": rng.random(n) * 3, "y": y})


@pytest.fixture
def weights_seen(monkeypatch):
    """The sample_weight of every Sequential.fit call."""
    seen = []
    real = fn.Sequential.fit

    def spy(self, *args, sample_weight=None, **kwargs):
        seen.append(sample_weight)
        return real(self, *args, sample_weight=sample_weight, **kwargs)

    monkeypatch.setattr(fn.Sequential, "fit", spy)
    return seen


def training_rows(frame, seed=0, fraction=0.2):
    from fastnn.model_selection import make_splits

    codes = (frame["y"] == "rare").to_numpy().astype(int)
    return make_splits(len(frame), None, validation_fraction=fraction, stratify=codes,
                       seed=seed)[0][0]


def test_balanced_class_weights_are_scikit_learns_per_row(weights_seen):
    from sklearn.utils.class_weight import compute_sample_weight

    frame = imbalanced()
    fn.TabularModel(epochs=1, cross_fit=1).fit(frame, class_weight="balanced")
    train = training_rows(frame)
    np.testing.assert_allclose(weights_seen[-1],
                               compute_sample_weight("balanced", frame["y"].iloc[train]))


def test_a_weight_column_weighs_rows_and_is_not_a_feature(weights_seen):
    frame = imbalanced()
    model = fn.TabularModel(epochs=1, cross_fit=1).fit(frame, sample_weight="w",
                                                    class_weight={"rare": 4})
    train = training_rows(frame)
    expected = frame["w"].to_numpy()[train] * np.where(frame["y"].iloc[train] == "rare", 4, 1)
    np.testing.assert_allclose(weights_seen[-1], expected)
    assert model.features.names == ["x"] and "w" in model.features.ignored
    assert model.settings["weight"] == "w" and model.settings["class_weight"] == {"rare": 4}
    model.predict(frame.drop(columns=["w"]))  # the weight column is not needed to predict


def test_an_array_of_weights_follows_the_rows_kept(weights_seen):
    frame = imbalanced()
    frame.loc[0, "y"] = None  # skipped: the weights of the other rows stay with them
    weights = np.arange(len(frame), dtype=float)
    fn.TabularModel(epochs=1, val_split=0).fit(frame, sample_weight=weights)
    np.testing.assert_allclose(weights_seen[-1], weights[1:])


def test_a_heavy_class_weight_raises_that_classs_recall():
    frame = imbalanced(400)
    options = dict(epochs=40, layers=(8,), early_stopping=0, lr=0.01, val_split=0)
    plain = fn.TabularModel(**options).fit(frame).evaluate(frame)
    weighted = fn.TabularModel(**options).fit(frame, class_weight={"rare": 8}).evaluate(frame)
    assert weighted["recall"] > plain["recall"]


@pytest.mark.parametrize("kwargs, message", [
    ({"sample_weight": "nope"}, "weight 'nope' is not a column"),
    ({"sample_weight": np.ones(3)}, "sample_weight must hold one weight per row (200)"),
    ({"class_weight": "heavy"}, "class_weight must be 'balanced' or a mapping"),
    ({"class_weight": {"other": 2}}, "class_weight names the label 'other'"),
    ({"class_weight": {"rare": -1}}, "the weight of 'rare' must be a finite number >= 0"),
])
def test_bad_weights_are_named(kwargs, message):
    with pytest.raises(ValueError) as info:
        fn.TabularModel(epochs=1).fit(imbalanced(), **kwargs)
    assert message in str(info.value)


def test_fastnn_train_weights(tmp_path, weights_seen):
    from fastnn_cli import cli

    frame = imbalanced()
    frame.loc[5, "w"] = -1.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "t.csv"), "--epochs", "1",
                                      "--weight", "w", "--out", str(tmp_path / "m.fnn")])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: --weight column 'w' has -1.0 in row 6: weights "
                                     "must be numbers >= 0")
    frame.loc[5, "w"] = 1.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "t.csv"), "--epochs", "1",
                                      "--weight", "w", "--class-weight", '{"rare": 3}',
                                      "--out", str(tmp_path / "m.fnn")])
    assert result.exit_code == 0, result.output
    settings = json.loads(CliRunner().invoke(cli, ["info", str(tmp_path / "m.fnn"),
                                                   "--json"]).stdout)["settings"]
    assert (settings["weight"], settings["class_weight"]) == ("w", {"rare": 3})
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "t.csv"), "--class-weight",
                                      "heavy"])
    assert result.exit_code == 2 and "neither 'balanced' nor a JSON object" in result.stderr
