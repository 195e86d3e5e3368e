"""Kernel regularizers: the penalty in every reported loss, its gradient, its effect, its config."""

import numpy as np
import pytest

import fastnn as fn

REGULARIZERS = {
    "l1": (lambda: fn.l1(0.03), 0.03, 0.0),
    "l2": (lambda: fn.l2(0.05), 0.0, 0.05),
    "l1_l2": (lambda: fn.l1_l2(0.02, 0.04), 0.02, 0.04),
    "l2_by_name": (lambda: "l2", 0.0, 0.01),
    "l1_l2_config": (lambda: {"l1": 0.1, "l2": 0.2}, 0.1, 0.2),
}


def _pair(regularizer, rng):
    """The same float64 network with and without the regularizer on its hidden kernel, and data."""
    X = rng.standard_normal((12, 3))
    y = rng.standard_normal((12, 1))
    models = [fn.Sequential([fn.Dense(4, activation="tanh", kernel_regularizer=reg),
                             fn.Dense(1)], input_dim=3, seed=0, dtype="float64")
              for reg in (regularizer, None)]
    models[0].params[:] += rng.normal(0, 0.2, models[0].params.shape)
    models[1].params[:] = models[0].params
    for model in models:
        model.compile(optimizer=fn.SGD(0.1), loss="mse")
    return models, X, y


@pytest.mark.parametrize("case", REGULARIZERS)
def test_penalty_and_its_gradient(case, rng):
    make, a, b = REGULARIZERS[case]
    (reg, plain), X, y = _pair(make(), rng)
    w = reg.layers[0].kernel
    penalty = a * np.abs(w).sum() + b * (w ** 2).sum()
    assert reg.penalty() == pytest.approx(penalty, rel=1e-12)
    assert plain.penalty() == 0.0
    assert reg.evaluate(X, y)["loss"] == pytest.approx(plain.evaluate(X, y)["loss"] + penalty,
                                                       rel=1e-12)
    loss, grads = reg.compute_gradients(X, y, return_loss=True)
    plain_loss, plain_grads = plain.compute_gradients(X, y, return_loss=True)
    assert loss == pytest.approx(plain_loss + penalty, rel=1e-12)
    expected = plain_grads.copy()
    expected[:w.size] += a * np.sign(w).ravel() + 2 * b * w.ravel()  # the bias is not penalised
    np.testing.assert_allclose(grads, expected, rtol=1e-12, atol=1e-15)


def test_fit_reports_the_loss_with_the_penalty(rng):
    # One full batch per epoch: the epoch's loss is the loss at the weights before the update.
    (reg, _), X, y = _pair(fn.l2(0.5), rng)
    before = reg.evaluate(X, y)["loss"]
    history = reg.fit(X, y, epochs=1, batch_size=None)
    assert history.history["loss"][0] == pytest.approx(before, rel=1e-12)


def test_l2_shrinks_the_weights_compared_with_none(rng):
    X = rng.standard_normal((200, 6))
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(200)

    def kernel_norm(regularizer):
        model = fn.Sequential([fn.Dense(16, activation="tanh", kernel_regularizer=regularizer),
                               fn.Dense(1, kernel_regularizer=regularizer)], input_dim=6, seed=0)
        model.compile(optimizer=fn.SGD(0.05), loss="mse")
        model.fit(X, y, epochs=20, batch_size=16)
        return np.sqrt(sum((layer.kernel.astype(float) ** 2).sum() for layer in model.layers))

    assert kernel_norm(fn.l2(0.5)) < 0.6 * kernel_norm(None)


@pytest.mark.parametrize("spec, match", [
    (lambda: fn.l1(-0.1), "l1"), (lambda: fn.l2(float("nan")), "l2"),
    (lambda: fn.l1_l2(0.1, "big"), "l2"), (lambda: fn.Dense(2, kernel_regularizer="l3"), "l3"),
    (lambda: fn.Dense(2, kernel_regularizer={"l3": 1.0}), "l3"),
    (lambda: fn.Dense(2, kernel_regularizer=0.1), "regularizer"),
])
def test_bad_regularizers_raise(spec, match):
    with pytest.raises(ValueError, match=match):
        spec()


def test_config_round_trip():
    layer = fn.Dense(3, kernel_regularizer=fn.l1_l2(0.25, 0.5))
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"l1": 0.25, "l2": 0.5}
    rebuilt = fn.layers.from_config(config)
    assert rebuilt.get_config() == config
    assert fn.Dense(3).get_config()["kernel_regularizer"] is None
    assert fn.regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
