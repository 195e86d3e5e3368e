"""ONNX export checked with onnxruntime: outputs equal fastnn's predict within 1e-5."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnn as fn

ort = pytest.importorskip("onnxruntime")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# every activation fastnn has (step, which no Dense trains with, has its own row below)
ACTIVATIONS = [name for name in fn.activations.ACTIVATIONS if name != "step"]

# Every layer kind (and every activation) in inference form.
NETWORKS = {f"dense {a}": lambda a=a: [fn.Dense(4, activation=a), fn.Dense(3, activation=a)]
            for a in ACTIVATIONS}
NETWORKS.update({
    "activation layer, step": lambda: [fn.Dense(4), fn.Activation("step")],
    "dropout": lambda: [fn.Dense(4, activation="relu"), fn.Dropout(0.5), fn.Dense(2)],
    "batchnorm": lambda: [fn.Dense(4), fn.BatchNormalization(), fn.Activation("tanh"),
                          fn.Dense(2)],
    "batchnorm without gamma and beta": lambda: [
        fn.Dense(4), fn.BatchNormalization(center=False, scale=False), fn.Dense(2)],
    "prelu": lambda: [fn.Dense(4), fn.PReLU(), fn.Dense(2)],
    "maxout": lambda: [fn.Maxout(3, pieces=4), fn.Dense(2, activation="softmax")],
})


def randomised(model, rng):
    """Running statistics and slopes away from their initial values."""
    for layer in model.layers:
        if isinstance(layer, fn.BatchNormalization):
            layer.moving_mean[...] = rng.standard_normal(layer.n_out)
            layer.moving_variance[...] = rng.random(layer.n_out) + 0.5
            if layer.scale:
                layer.gamma[...] = rng.standard_normal(layer.n_out)
            if layer.center:
                layer.beta[...] = rng.standard_normal(layer.n_out)
        if isinstance(layer, fn.PReLU):
            layer.alpha[...] = rng.standard_normal(layer.n_out)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("network", NETWORKS)
def test_every_layer_kind_matches_predict(tmp_path, network, dtype):
    rng = np.random.default_rng(3)
    model = randomised(fn.Sequential(NETWORKS[network](), input_dim=5, seed=1, dtype=dtype), rng)
    X = (3 * rng.standard_normal((16, 5))).astype(dtype)
    path = model.to_onnx(tmp_path / "m.onnx")
    got = ort.InferenceSession(path).run(["Y"], {"X": X.astype(np.float32)})[0]
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-5, atol=1e-5)


def feeds(model, frame):
    """The ONNX inputs for the raw columns: doubles with NaN, text with "" for missing."""
    out = {}
    for column in model.features.columns:
        values = frame[column["name"]]
        if column["kind"] == "numeric":
            out[column["name"]] = values.to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            out[column["name"]] = values.astype(object).where(values.notna(), "").astype(
                str).to_numpy(dtype=object).reshape(-1, 1)
    return out


@pytest.mark.parametrize("example, target", [("iris.csv", None), ("penguins.csv", "species")])
def test_the_shipped_examples_raw_columns_in_probabilities_out(tmp_path, example, target):
    frame = pd.read_csv(EXAMPLES / example)
    model = fn.TabularModel(target=target, epochs=5, layers=(8,)).fit(frame)
    session = ort.InferenceSession(model.to_onnx(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == model.features.names
    label, probabilities = session.run(["label", "probabilities"], feeds(model, frame))
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), atol=1e-5)
    assert list(label) == list(model.predict(frame))


def test_binary_threshold_other_column_and_regression(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"x": rng.standard_normal(n),
                          "city": rng.choice(["a", "b", "c"], n).astype(object),
                          "shop": [f"s{k % 40}" for k in range(n)]})
    frame.loc[3, "x"], frame.loc[4, "city"] = np.nan, None
    frame["y"] = (frame["x"].fillna(0) > 0).astype(int)
    model = fn.TabularModel(epochs=3, high_cardinality="top", max_levels=5, threshold=0.3)
    model.fit(frame)
    assert model.features.columns[2].get("other")
    session = ort.InferenceSession(model.to_onnx(tmp_path / "b.onnx"))
    label, probabilities = session.run(["label", "probabilities"], feeds(model, frame))
    np.testing.assert_allclose(probabilities, model.predict_proba(frame), atol=1e-5)
    assert label.tolist() == model.predict(frame).tolist()  # at the stored threshold 0.3

    frame["y"] = frame["x"].fillna(0) > 0.5  # booleans: the label is a boolean too
    flags = fn.TabularModel(epochs=2).fit(frame)
    (label,) = ort.InferenceSession(flags.to_onnx(tmp_path / "f.onnx")).run(
        ["label"], feeds(flags, frame))
    assert label.dtype == bool and label.tolist() == flags.predict(frame).tolist()

    frame["y"] = 100 + 50 * frame["x"].fillna(0)
    regression = fn.TabularModel(epochs=3).fit(frame)
    session = ort.InferenceSession(regression.to_onnx(tmp_path / "r.onnx"))
    (prediction,) = session.run(["prediction"], feeds(regression, frame))
    np.testing.assert_allclose(prediction[:, 0], regression.predict(frame), rtol=1e-5)


def test_what_cannot_be_exported_is_a_clear_error(tmp_path, monkeypatch):
    frame = pd.DataFrame({"id": [f"u{k}" for k in range(40)], "x": np.arange(40.0),
                          "y": [0, 1] * 20})
    hashed = fn.TabularModel(epochs=1, high_cardinality="hash", max_levels=8).fit(frame)
    with pytest.raises(ValueError, match="column 'id' is hashed, which ONNX cannot express"):
        hashed.to_onnx(tmp_path / "h.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ValueError, match=r"needs the onnx package: pip install 'fastnn\[onnx\]'"):
        fn.Sequential([fn.Dense(1)], input_dim=2).to_onnx(tmp_path / "m.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_fastnn_export_command(tmp_path):
    from fastnn_cli import cli

    frame = pd.read_csv(EXAMPLES / "iris.csv")
    model = fn.TabularModel(epochs=2, layers=(4,)).fit(frame)
    model.save(tmp_path / "iris.fnn")
    fn.Sequential([fn.Dense(2)], input_dim=3).save(tmp_path / "plain.fnn")
    for name, inputs in (("iris", model.features.names), ("plain", ["X"])):
        result = CliRunner().invoke(cli, ["export", str(tmp_path / f"{name}.fnn"),
                                          str(tmp_path / f"{name}.onnx")])
        assert result.exit_code == 0, result.output
        assert f"to {tmp_path / name}.onnx" in result.stderr
        session = ort.InferenceSession(str(tmp_path / f"{name}.onnx"))
        assert [i.name for i in session.get_inputs()] == inputs
