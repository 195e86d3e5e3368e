"""compute_gradients of whole Dense stacks against finite differences (float64)."""

import numpy as np
import pytest

import fastnn as fn
from conftest import finite_difference
from fastnn import activations

HIDDEN = [a for a in activations.ACTIVATIONS if a not in ("step", "softmax")]


def _check(model, X, y, rtol=1e-5):
    grads = model.compute_gradients(X, y)

    def loss():
        return model.evaluate(X, y)["loss"]

    expected = finite_difference(loss, model.params)
    np.testing.assert_allclose(grads, expected, rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("act", HIDDEN)
def test_dense_stack_with_each_hidden_activation(act, rng):
    X = rng.standard_normal((7, 3))
    y = rng.standard_normal((7, 2))
    model = fn.Sequential([fn.Dense(5, activation=act), fn.Dense(4, activation=act),
                           fn.Dense(2)], input_dim=3, seed=3, dtype="float64")
    model.params[:] += rng.normal(0, 0.3, model.params.shape)  # break the zero biases' symmetry
    model.compile(loss="mse")
    _check(model, X, y)


@pytest.mark.parametrize("loss, out_act, targets", [
    ("binary_crossentropy", "sigmoid", lambda r: r.integers(0, 2, (7, 1))),
    ("categorical_crossentropy", "softmax", lambda r: np.eye(3)[r.integers(0, 3, 7)]),
    ("sparse_categorical_crossentropy", "softmax", lambda r: r.integers(0, 3, 7)),
    ("binary_crossentropy", "softmax", lambda r: np.eye(3)[r.integers(0, 3, 7)]),
    ("mae", "linear", lambda r: r.standard_normal((7, 3)) * 3),
    ("huber", "tanh", lambda r: r.standard_normal((7, 3)) * 3),
    ("hinge", "tanh", lambda r: r.integers(0, 2, (7, 3))),
])
def test_output_activation_and_loss_pairs(loss, out_act, targets, rng):
    X = rng.standard_normal((7, 4))
    y = targets(rng)
    units = 1 if loss == "binary_crossentropy" and out_act == "sigmoid" else 3
    model = fn.Sequential([fn.Dense(6, activation="tanh"), fn.Dense(units, activation=out_act)],
                          input_dim=4, seed=1, dtype="float64")
    model.compile(loss=loss)
    _check(model, X, y)
