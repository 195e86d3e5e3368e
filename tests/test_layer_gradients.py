"""compute_gradients of networks with every new layer and regularizer against finite differences
of the loss it differentiates (training mode, float64)."""

import numpy as np
import pytest

import fastnn as fn
from conftest import finite_difference

CASES = {
    "batchnorm": lambda: [fn.Dense(5), fn.BatchNormalization(), fn.Dense(2)],
    "batchnorm_first_no_center": lambda: [fn.BatchNormalization(center=False), fn.Dense(2)],
    "batchnorm_no_scale": lambda: [fn.Dense(5), fn.BatchNormalization(scale=False),
                                   fn.Activation("tanh"), fn.Dense(2)],
    "prelu": lambda: [fn.Dense(5), fn.PReLU(), fn.Dense(2)],
    "prelu_first": lambda: [fn.PReLU(), fn.Dense(2)],
    "maxout": lambda: [fn.Dense(4, activation="tanh"), fn.Maxout(3, 4), fn.Dense(2)],
    "maxout_first": lambda: [fn.Maxout(3, 2), fn.Dense(2)],
    "dropout": lambda: [fn.Dense(6, activation="tanh"), fn.Dropout(0.4), fn.Dense(2)],
    "activation_layers": lambda: [fn.Dense(5), fn.Activation("elu"), fn.Dense(4),
                                  fn.Activation("sigmoid"), fn.Dense(2)],
    "l1_and_l1_l2": lambda: [fn.Dense(5, activation="tanh", kernel_regularizer=fn.l1(0.1)),
                             fn.Dense(2, kernel_regularizer=fn.l1_l2(0.05, 0.2))],
    "l2_on_maxout": lambda: [fn.Maxout(3, 2, kernel_regularizer=fn.l2(0.3)), fn.Dense(2)],
    "everything": lambda: [fn.Dense(6, kernel_regularizer=fn.l2(0.01)),
                           fn.BatchNormalization(), fn.PReLU(), fn.Dropout(0.3),
                           fn.Maxout(4, 3), fn.Activation("tanh"), fn.Dense(2)],
}


def _check(model, X, y):
    loss, grads = model.compute_gradients(X, y, return_loss=True)

    def training_loss():
        return model.compute_gradients(X, y, return_loss=True)[0]

    expected = finite_difference(training_loss, model.params)
    np.testing.assert_allclose(grads, expected, rtol=1e-5, atol=1e-8)
    assert loss == training_loss()


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences(case, rng):
    X = rng.standard_normal((7, 3))
    y = rng.standard_normal((7, 2))
    model = fn.Sequential(CASES[case](), input_dim=3, seed=3, dtype="float64")
    model.params[:] += rng.normal(0, 0.3, model.params.shape)  # off zero biases and 1/0.25 inits
    model.compile(loss="mse")
    _check(model, X, y)


def test_fused_softmax_activation_layer_with_crossentropy(rng):
    X = rng.standard_normal((7, 3))
    y = rng.integers(0, 3, 7)
    model = fn.Sequential([fn.Dense(4), fn.BatchNormalization(), fn.Dense(3),
                           fn.Activation("softmax")], input_dim=3, seed=1, dtype="float64")
    model.compile(loss="sparse_categorical_crossentropy")
    assert model.fused_output
    _check(model, X, y)


def test_compute_gradients_runs_dropout_in_training_mode(rng):
    # The finite differences above show that backward applies the forward's masks; here the
    # masks are shown to be there at all: the training loss and gradient differ from the plain
    # net's, while evaluate (inference) equals it.
    X = rng.standard_normal((7, 3))
    y = rng.standard_normal((7, 2))
    dropped = fn.Sequential([fn.Dense(6, activation="tanh"), fn.Dropout(0.5), fn.Dense(2)],
                            input_dim=3, seed=3, dtype="float64")
    plain = fn.Sequential([fn.Dense(6, activation="tanh"), fn.Dense(2)], input_dim=3, seed=3,
                          dtype="float64")
    for model in (dropped, plain):
        model.compile(loss="mse")
    loss, grads = dropped.compute_gradients(X, y, return_loss=True)
    plain_loss, plain_grads = plain.compute_gradients(X, y, return_loss=True)
    assert loss != plain_loss and not np.allclose(grads, plain_grads)
    assert dropped.evaluate(X, y) == plain.evaluate(X, y)
