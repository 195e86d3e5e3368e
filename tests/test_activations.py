"""Every activation: forward against a NumPy formula, derivative against finite differences."""

import numpy as np
import pytest

from conftest import finite_difference
from fastnn import activations
from fastnn.kernels.activations import SELU_ALPHA, SELU_SCALE, activate, activation_backward


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


NUMPY_FORMS = {
    "linear": lambda z, a: z,
    "sigmoid": lambda z, a: 1 / (1 + np.exp(-z)),
    "tanh": lambda z, a: np.tanh(z),
    "relu": lambda z, a: np.maximum(z, 0),
    "leaky_relu": lambda z, a: np.where(z > 0, z, a * z),
    "elu": lambda z, a: np.where(z > 0, z, a * (np.exp(z) - 1)),
    "selu": lambda z, a: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * (np.exp(z) - 1)),
    "softplus": lambda z, a: np.log1p(np.exp(z)),
    "softmax": lambda z, a: _softmax(z),
    "step": lambda z, a: (z >= 0).astype(float),
}


def _forward(name, z, bias):
    out = z.copy()
    activate(activations.code_of(name), out, bias, activations.default_parameter(name))
    return out


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(name, dtype, rng):
    z = (rng.standard_normal((5, 4)) * 3).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    expected = NUMPY_FORMS[name](z.astype(np.float64) + bias, activations.default_parameter(name))
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(_forward(name, z, bias), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", [n for n in activations.ACTIVATIONS if n != "step"])
def test_derivative_from_output_matches_finite_differences(name, rng):
    z = rng.standard_normal((3, 4)) * 2
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the kinks of relu-like functions
    upstream = rng.standard_normal((3, 4))
    zero_bias = np.zeros(4)

    def loss():
        return float((_forward(name, z, zero_bias) * upstream).sum())

    expected = finite_difference(loss, z)
    grad = upstream.copy()
    activation_backward(activations.code_of(name), _forward(name, z, zero_bias), grad,
                        activations.default_parameter(name))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_step_has_zero_derivative():
    y = np.array([[0.0, 1.0]])
    grad = np.ones_like(y)
    activation_backward(activations.code_of("step"), y, grad, 0.0)
    assert not grad.any()


def test_sigmoid_and_softmax_are_finite_for_huge_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    for name in ("sigmoid", "softmax", "softplus", "elu", "selu"):
        assert np.all(np.isfinite(_forward(name, z, np.zeros(3)))), name


@pytest.mark.parametrize("alias, name", [(None, "linear"), ("identity", "linear"),
                                         ("logistic", "sigmoid"), ("ReLU", "relu")])
def test_aliases(alias, name):
    assert activations.resolve(alias) == name


def test_unknown_activation_is_named():
    with pytest.raises(ValueError, match="swish"):
        activations.resolve("swish")
