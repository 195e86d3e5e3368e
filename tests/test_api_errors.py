"""Bad input to the API raises a ValueError that names the problem."""

import numpy as np
import pytest

import fastnn as fn


def _model(compiled=True):
    model = fn.Sequential([fn.Dense(3, activation="relu"), fn.Dense(1)], input_dim=2, seed=0)
    if compiled:
        model.compile(optimizer="sgd", loss="mse")
    return model


X = np.ones((4, 2))
Y = np.ones(4)


@pytest.mark.parametrize("call, match", [
    (lambda: _model(False).fit(X, Y), "compiled"),
    (lambda: _model(False).evaluate(X, Y), "compiled"),
    (lambda: _model().fit(np.ones((4, 3)), Y), "3 feature column"),
    (lambda: _model().fit(X, np.ones(5)), "4 rows but y has 5"),
    (lambda: _model().fit(X, np.ones((4, 2))), "2 column"),
    (lambda: _model().fit(np.ones((4, 2, 1)), Y), "2-D"),
    (lambda: _model().fit(np.array([[1.0, np.nan]] * 4), Y), "NaN"),
    (lambda: _model().fit(X, np.array([1.0, np.inf, 0, 0])), "NaN or infinite"),
    (lambda: _model().fit(np.array([["a", "b"]] * 4), Y), "numeric"),
    (lambda: _model().fit(X, Y, batch_size=0), "batch_size"),
    (lambda: _model().fit(X, Y, epochs=0), "epochs"),
    (lambda: _model().predict(np.ones((2, 5))), "5 feature column"),
    (lambda: _model().predict(np.empty((0, 2))), "no rows"),
    (lambda: _model().compile(optimizer="adamax"), "adamax"),
    (lambda: _model().compile(loss="kl"), "kl"),
    (lambda: fn.Dense(0), "units"),
    (lambda: fn.Dense(3, activation="mish"), "mish"),
    (lambda: fn.Dense(3, kernel_initializer="orthogonal"), "orthogonal"),
    (lambda: fn.SGD(learning_rate=-1), "learning_rate"),
    (lambda: fn.SGD(learning_rate=0.1, lr=0.2), "alias"),
    (lambda: fn.Sequential([fn.Dense(1)], dtype="float16"), "dtype"),
    (lambda: fn.Sequential([fn.Dense(1)], seed=-1), "seed"),
    (lambda: fn.Sequential([], input_dim=3), "no layers"),
    (lambda: fn.Sequential([fn.Dense(1)]).count_params(), "not built"),
    (lambda: fn.Sequential(["dense"]), "fastnn layers"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_sparse_targets_out_of_range():
    model = fn.Sequential([fn.Dense(3, activation="softmax")], input_dim=2, seed=0)
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"integers in \[0, 3\)"):
        model.fit(X, np.array([0, 1, 2, 3]))


def test_step_activation_cannot_be_trained_by_backprop():
    model = fn.Sequential([fn.Dense(1, activation="step")], input_dim=2, seed=0)
    with pytest.raises(ValueError, match="Perceptron"):
        model.compile(loss="mse")


def test_lr_alias():
    assert fn.SGD(lr=0.3).learning_rate == 0.3
    assert fn.SGD().learning_rate == 0.01
