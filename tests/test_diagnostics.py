"""Gradient diagnostics: the numbers against NumPy, the flags on textbook cases, ewma."""

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastnn as fn
from fastnn.diagnostics import layer_table


def _binary_data(n=64, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def _regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


def _deep(activation, init, depth=10, bias="zeros", lr=0.1):
    layers = [fn.Dense(16, activation=activation, kernel_initializer=init,
                       bias_initializer=bias) for _ in range(depth - 1)]
    model = fn.Sequential(layers + [fn.Dense(1, activation="sigmoid")], input_dim=4, seed=0)
    model.compile(optimizer=fn.SGD(lr), loss="bce")
    return model


def _regressor(hidden, lr):
    layers = [fn.Dense(8, activation="tanh")] if hidden else []
    model = fn.Sequential(layers + [fn.Dense(1)], input_dim=3, seed=0)
    model.compile(optimizer=fn.SGD(lr), loss="mse")
    return model


SMALL_NORMAL = {"name": "random_normal", "stddev": 0.1}
NEG_BIAS = {"name": "constant", "value": -2.0}
CASES = {
    # name: (model, data, fit arguments, kinds flagged by the monitor, by diagnose after fit)
    "sigmoid, small init": (lambda: _deep("sigmoid", SMALL_NORMAL), _binary_data,
                            dict(epochs=5, batch_size=16), {"vanishing"}, {"vanishing"}),
    "relu, he init": (lambda: _deep("relu", "he_normal"), _binary_data,
                      dict(epochs=5, batch_size=16), set(), set()),
    "relu, bias -10": (lambda: _deep("relu", "he_normal", depth=3,
                                     bias={"name": "constant", "value": -10.0}), _binary_data,
                       dict(epochs=5, batch_size=16), {"dying_relu", "vanishing"},
                       {"dying_relu", "vanishing"}),
    "lr too large, growing": (lambda: _regressor(False, 1.5), _regression_data,
                              dict(epochs=8, batch_size=None), {"exploding"}, set()),
    "lr 1e3, NaN": (lambda: _regressor(True, 1e3), _regression_data,
                    dict(epochs=5, batch_size=8, callbacks=[fn.TerminateOnNaN()]),
                    {"exploding"}, set()),
}


@pytest.mark.parametrize("name", list(CASES))
def test_flags_on_textbook_cases(name):
    make, data, fit_kwargs, by_monitor, by_diagnose = CASES[name]
    model = make()
    X, y = data()
    fit_kwargs = dict(fit_kwargs)
    monitor = fn.GradientMonitor()
    fit_kwargs["callbacks"] = fit_kwargs.get("callbacks", []) + [monitor]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(X, y, **fit_kwargs)
    assert history.diagnostics is monitor.diagnostics
    assert {f.kind for f in history.diagnostics.flags} == by_monitor
    assert {f.kind for f in model.diagnose(X, y, print_fn=None).flags} == by_diagnose


def test_vanishing_needs_several_epochs_in_a_row():
    X, y = _binary_data()
    history = _deep("sigmoid", SMALL_NORMAL).fit(
        X, y, epochs=5, batch_size=16, callbacks=[fn.GradientMonitor(patience=3)])
    assert history.diagnostics.flagged("vanishing") == [2, 3, 4]
    flag = history.diagnostics.flags[0]
    assert flag.layers[0] == 0 and "dense_0" in flag.message


def test_monitor_numbers_match_a_numpy_replay():
    """One epoch in order, batches of 5: every number against a replay with compute_gradients
    and NumPy (SGD: w <- w - lr g)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((15, 3))
    y = rng.standard_normal(15)
    lr = 0.05

    def make():
        model = fn.Sequential([fn.Dense(6, activation="relu", bias_initializer=NEG_BIAS),
                               fn.Dense(4, activation="tanh"), fn.Dense(1)],
                              input_dim=3, seed=3, dtype="float64")
        return model.compile(optimizer=fn.SGD(lr), loss="mse")

    model, replay = make(), make()
    spans = [slice(s, e) for s, e in layer_table(model)[:, :2]]
    grad_norms, ratios, active = [], [], np.zeros(6, dtype=bool)
    for b in range(3):
        rows = slice(5 * b, 5 * b + 5)
        hidden = np.maximum(X[rows] @ replay.layers[0].kernel + replay.layers[0].bias, 0)
        active |= (hidden > 0).any(axis=0)
        before = replay.params.copy()
        g = replay.compute_gradients(X[rows], y[rows])
        replay.params[...] = before - lr * g
        grad_norms.append([np.linalg.norm(g[s]) for s in spans])
        ratios.append([np.linalg.norm(replay.params[s] - before[s]) / np.linalg.norm(before[s])
                       for s in spans])
    history = model.fit(X, y, epochs=1, batch_size=5, shuffle=False,
                        callbacks=[fn.GradientMonitor()])
    d = history.diagnostics
    np.testing.assert_allclose(model.params, replay.params, rtol=1e-12)
    np.testing.assert_allclose(d["grad_norm"][0], np.mean(grad_norms, axis=0), rtol=1e-10)
    np.testing.assert_allclose(d["update_ratio"][0], np.mean(ratios, axis=0), rtol=1e-10)
    np.testing.assert_allclose(d["weight_norm"][0],
                               [np.linalg.norm(model.params[s]) for s in spans], rtol=1e-12)
    assert 0 < d["dead_fraction"][0, 0] == 1 - active.mean()
    assert np.isnan(d["dead_fraction"][0, 1:]).all()
    assert (d["grad_nonfinite"] == 0).all() and (d["weight_nonfinite"] == 0).all()
    assert d["grad_norm"].shape == (1, 3)


def test_diagnose_numbers_match_compute_gradients():
    X, y = _binary_data(n=50)
    model = _deep("relu", "he_normal", depth=3, bias=NEG_BIAS)
    g = model.compute_gradients(X, y).astype(np.float64)
    spans = [slice(s, e) for s, e in layer_table(model)[:, :2]]
    for batch_size in (7, 50):
        d = model.diagnose(X, y, batch_size=batch_size, print_fn=None)
        np.testing.assert_allclose(d["grad_norm"][0], [np.linalg.norm(g[s]) for s in spans],
                                   rtol=1e-4)
        assert np.isnan(d["update_ratio"]).all()
    h = np.maximum(X @ model.layers[0].kernel + model.layers[0].bias, 0)
    assert 0 < d["dead_fraction"][0, 0] == pytest.approx(1 - (h > 0).any(axis=0).mean())


def test_the_monitor_does_not_change_training():
    X, y = _binary_data()
    plain, monitored = _deep("relu", "he_normal", depth=3), _deep("relu", "he_normal", depth=3)
    plain.fit(X, y, epochs=3, batch_size=8)
    monitored.fit(X, y, epochs=3, batch_size=8, callbacks=[fn.GradientMonitor()])
    assert plain.params.tobytes() == monitored.params.tobytes()


def test_report_and_verbose_output(capsys):
    X, y = _binary_data()
    model = _deep("sigmoid", SMALL_NORMAL)
    model.fit(X, y, epochs=5, batch_size=16, callbacks=[fn.GradientMonitor(verbose=1)])
    out = capsys.readouterr().out
    assert out.count("VANISHING") == 2  # when first raised, and in the final report
    assert "Epoch 3: VANISHING" in out
    text = model.history.diagnostics.report()
    assert text.splitlines()[0] == "Gradient diagnostics (epoch 5)"
    assert all(f"dense_{i}" in text for i in range(10))
    assert "VANISHING (epochs 3-5)" in text
    healthy = _deep("relu", "he_normal", depth=3).diagnose(X, y, print_fn=None)
    assert healthy.report().endswith("no problem flagged")
    with pytest.raises(KeyError, match="grad_norm"):
        healthy["gradient"]


@pytest.mark.parametrize("make, match", [
    (lambda: fn.GradientMonitor(ratio=0), "ratio"),
    (lambda: fn.GradientMonitor(growth=1), "growth"),
    (lambda: fn.GradientMonitor(dead=1.0), "dead"),
    (lambda: fn.GradientMonitor(patience=0), "patience"),
    (lambda: fn.ewma([1.0, 2.0], beta=1.0), "beta"),
    (lambda: fn.ewma(np.ones((2, 2))), "1-D"),
    (lambda: _deep("relu", "he_normal", depth=2).diagnose(np.ones((3, 5)), np.ones(3)),
     "5 feature column"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def _ewma_by_definition(x, beta):
    v, out = 0.0, []
    for t, value in enumerate(x, start=1):
        v = beta * v + (1 - beta) * value
        out.append(v / (1 - beta ** t))
    return out


@pytest.mark.parametrize("values, beta", [
    ([1.0, 2.0, 3.0, 10.0, -4.0], 0.9),
    ([5.0, 5.0, 5.0, 5.0], 0.98),
    ([0.3, -0.1, 2.5], 0.0),
    ([7.0], 0.5),
])
def test_ewma_with_bias_correction(values, beta):
    smoothed = fn.ewma(values, beta)
    np.testing.assert_allclose(smoothed, _ewma_by_definition(values, beta), rtol=1e-12)
    assert smoothed[0] == pytest.approx(values[0])  # bias correction: no pull towards 0
    if beta == 0.0:
        np.testing.assert_array_equal(smoothed, values)
    if len(set(values)) == 1:
        np.testing.assert_allclose(smoothed, values)


def test_the_figure_script_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    script = Path(__file__).resolve().parents[1] / "scripts" / "plot_diagnostics.py"
    out = tmp_path / "diagnostics.png"
    result = subprocess.run([sys.executable, str(script), "--out", str(out), "--epochs", "4"],
                            capture_output=True, text=True, check=True)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "VANISHING" in result.stdout and "no problem flagged" in result.stdout
