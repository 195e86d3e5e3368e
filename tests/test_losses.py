"""Every loss: value against a NumPy formula, gradient against finite differences (float64)."""

import numpy as np
import pytest

from conftest import finite_difference
from fastnn import losses
from fastnn.kernels.activations import SIGMOID, SOFTMAX, activate
from fastnn.kernels.losses import EPSILON, NO_WEIGHTS, loss_and_gradient

B, K = 6, 3


def _clip(p):
    return np.clip(p, EPSILON, 1 - EPSILON)


def _targets(name, rng):
    if name == "binary_crossentropy":
        return rng.integers(0, 2, (B, K)).astype(float)
    if name == "categorical_crossentropy":
        return np.eye(K)[rng.integers(0, K, B)]
    if name == "sparse_categorical_crossentropy":
        return rng.integers(0, K, (B, 1)).astype(float)
    if name == "hinge":
        return rng.choice([-1.0, 1.0], (B, K))
    return rng.standard_normal((B, K))


def _outputs(name, rng):
    if name in ("binary_crossentropy",):
        return rng.uniform(0.05, 0.95, (B, K))
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        p = rng.uniform(0.1, 1.0, (B, K))
        return p / p.sum(axis=1, keepdims=True)
    return rng.standard_normal((B, K)) * 2


def _huber(r, d=1.0):
    return np.where(np.abs(r) <= d, 0.5 * r ** 2, d * (np.abs(r) - 0.5 * d))


NUMPY_FORMS = {
    "mse": lambda o, y: ((o - y) ** 2).mean(),
    "mae": lambda o, y: np.abs(o - y).mean(),
    "huber": lambda o, y: _huber(o - y).mean(),
    "binary_crossentropy": lambda o, y: -(y * np.log(_clip(o))
                                          + (1 - y) * np.log(1 - _clip(o))).mean(),
    "categorical_crossentropy": lambda o, y: -(y * np.log(_clip(o))).sum(axis=1).mean(),
    "sparse_categorical_crossentropy": lambda o, y: -np.log(
        _clip(o[np.arange(len(y)), y[:, 0].astype(int)])).mean(),
    "hinge": lambda o, y: np.maximum(0, 1 - y * o).mean(),
}


def _loss(name, out, y, grad=None):
    spec, param = losses.resolve(name)
    grad = np.empty_like(out) if grad is None else grad
    return loss_and_gradient(spec.code, out, y, NO_WEIGHTS, grad, param, False)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_value_matches_numpy(name, rng):
    out, y = _outputs(name, rng), _targets(name, rng)
    assert _loss(name, out, y) == pytest.approx(NUMPY_FORMS[name](out, y), rel=1e-12)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_gradient_matches_finite_differences(name, rng):
    out, y = _outputs(name, rng), _targets(name, rng)
    if name in ("mae", "hinge", "huber"):  # keep away from the kinks
        out = np.where(np.abs(out - y) < 0.05, out + 0.2, out)
        out = np.where(np.abs(np.abs(out - y) - 1.0) < 0.05, out + 0.2, out)
        if name == "hinge":
            out = np.where(np.abs(1 - y * out) < 0.05, out + 0.2 * y, out)
    grad = np.empty_like(out)
    _loss(name, out, y, grad)
    expected = finite_difference(lambda: _loss(name, out, y), out)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name, act", [("binary_crossentropy", SIGMOID),
                                       ("categorical_crossentropy", SOFTMAX),
                                       ("sparse_categorical_crossentropy", SOFTMAX)])
def test_fused_gradient_is_the_derivative_with_respect_to_logits(name, act, rng):
    z = rng.standard_normal((B, K))
    y = _targets(name, rng)
    spec, param = losses.resolve(name)
    zero = np.zeros(K)

    def loss_of_logits():
        out = z.copy()
        activate(act, out, zero, 0.0, out)
        return loss_and_gradient(spec.code, out, y, NO_WEIGHTS, np.empty_like(out), param, False)

    out = z.copy()
    activate(act, out, zero, 0.0, out)
    grad = np.empty_like(out)
    loss_and_gradient(spec.code, out, y, NO_WEIGHTS, grad, param, True)
    np.testing.assert_allclose(grad, finite_difference(loss_of_logits, z), rtol=1e-6, atol=1e-9)


def test_huber_delta_changes_the_threshold():
    out, y = np.array([[3.0]]), np.array([[0.0]])
    spec, _ = losses.resolve("huber")
    assert loss_and_gradient(spec.code, out, y, NO_WEIGHTS, np.empty_like(out), 2.0, False) == \
        pytest.approx(2.0 * (3.0 - 1.0))
    assert losses.resolve(losses.Huber(2.0)) == (spec, 2.0)


def test_bce_is_finite_at_saturated_outputs():
    out, y = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])
    value = _loss("binary_crossentropy", out, y)
    assert value == pytest.approx(-np.log(EPSILON), rel=1e-6)


@pytest.mark.parametrize("alias", ["bce", "cce", "scce", "mean_squared_error", "MSE"])
def test_aliases(alias):
    losses.resolve(alias)


def test_hinge_maps_zero_one_labels():
    spec, _ = losses.resolve("hinge")
    y = losses.prepare_targets(spec, np.array([0, 1, 1]), 1, np.float64)
    np.testing.assert_array_equal(y[:, 0], [-1, 1, 1])
