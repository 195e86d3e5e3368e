"""Every activation: forward against a NumPy formula (and PyTorch's where it has one), derivative
against finite differences. A new activation is a row in NUMPY_FORMS (and TORCH_FORMS)."""

import math

import numpy as np
import pytest

from conftest import finite_difference
from fastnn import activations
from fastnn.kernels.activations import SELU_ALPHA, SELU_SCALE, activate, activation_backward


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_erf = np.vectorize(math.erf)

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
    "gelu": lambda z, a: 0.5 * z * (1 + _erf(z / np.sqrt(2))),
    "gelu_tanh": lambda z, a: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                     * (z + 0.044715 * z ** 3))),
    "silu": lambda z, a: z / (1 + np.exp(-z)),
}

# torch.nn.functional's form of the activations it has under another spelling
TORCH_FORMS = {
    "gelu": lambda F, z: F.gelu(z, approximate="none"),
    "gelu_tanh": lambda F, z: F.gelu(z, approximate="tanh"),
    "silu": lambda F, z: F.silu(z),
    "softplus": lambda F, z: F.softplus(z),
    "selu": lambda F, z: F.selu(z),
}


def _forward(name, z, bias, pre=None):
    out = z.copy()
    pre = np.empty_like(z) if pre is None else pre
    activate(activations.code_of(name), out, bias, activations.default_parameter(name), pre)
    return out


def test_every_activation_has_a_reference():
    assert set(NUMPY_FORMS) == set(activations.ACTIVATIONS)


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(name, dtype, rng):
    z = (rng.standard_normal((5, 4)) * 3).astype(dtype)
    bias = rng.standard_normal(4).astype(dtype)
    expected = NUMPY_FORMS[name](z.astype(np.float64) + bias, activations.default_parameter(name))
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(_forward(name, z, bias), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(TORCH_FORMS))
def test_forward_matches_torch(name, rng):
    torch = pytest.importorskip("torch")
    z = rng.standard_normal((6, 5)) * 3
    expected = TORCH_FORMS[name](torch.nn.functional, torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(_forward(name, z, np.zeros(5)), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", [n for n in activations.ACTIVATIONS if n != "step"])
def test_derivative_matches_finite_differences(name, rng):
    """From the saved output, and from the kept input for the activations that need it."""
    z = rng.standard_normal((3, 4)) * 2
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the kinks of relu-like functions
    upstream = rng.standard_normal((3, 4))
    zero_bias = np.zeros(4)

    def loss():
        return float((_forward(name, z, zero_bias) * upstream).sum())

    expected = finite_difference(loss, z)
    grad = upstream.copy()
    kept = np.full_like(z, np.nan)
    out = _forward(name, z, zero_bias, kept)
    if activations.needs_input(name):
        np.testing.assert_array_equal(kept, z)
    else:
        assert np.all(np.isnan(kept))  # nothing kept where nothing is needed
    activation_backward(activations.code_of(name), out, kept, grad,
                        activations.default_parameter(name))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_step_has_zero_derivative():
    y = np.array([[0.0, 1.0]])
    grad = np.ones_like(y)
    activation_backward(activations.code_of("step"), y, y, grad, 0.0)
    assert not grad.any()


def test_sigmoid_and_softmax_are_finite_for_huge_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    for name in ("sigmoid", "softmax", "softplus", "elu", "selu", "gelu", "gelu_tanh", "silu"):
        assert np.all(np.isfinite(_forward(name, z, np.zeros(3)))), name


@pytest.mark.parametrize("alias, name", [(None, "linear"), ("identity", "linear"),
                                         ("logistic", "sigmoid"), ("ReLU", "relu"),
                                         ("swish", "silu"), ("GELU", "gelu")])
def test_aliases(alias, name):
    assert activations.resolve(alias) == name


@pytest.mark.parametrize("approximate, name", [(False, "gelu"), ("none", "gelu"),
                                               (True, "gelu_tanh"), ("tanh", "gelu_tanh")])
def test_gelu_approximate_as_keras_and_pytorch_spell_it(approximate, name):
    assert activations.gelu(approximate=approximate) == name
    with pytest.raises(ValueError, match="approximate"):
        activations.gelu(approximate="erf")


def test_unknown_activation_is_named_with_the_closest_names():
    with pytest.raises(ValueError, match=r"'reul' \(did you mean 'relu'"):
        activations.resolve("reul")
    with pytest.raises(ValueError, match="mish"):
        activations.resolve("mish")
