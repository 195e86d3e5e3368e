"""The perceptron rule: it learns the linearly separable AND and OR, never XOR (an MLP does)."""

import numpy as np
import pytest

import fastnn as fn

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}


@pytest.mark.parametrize("gate", ["and", "or"])
def test_learns_linearly_separable_gates(gate):
    y = np.array(GATES[gate])
    p = fn.Perceptron(learning_rate=0.1, max_epochs=100, seed=0).fit(INPUTS, y)
    assert p.converged_ and p.errors_[-1] == 0 and p.n_epochs_ < 100
    assert p.score(INPUTS, y) == 1.0
    np.testing.assert_array_equal(p.predict(INPUTS), y)
    # The learnt line separates the classes: w.x + b >= 0 exactly on the positives.
    np.testing.assert_array_equal(INPUTS @ p.coef_ + p.intercept_ >= 0, y == 1)


def test_cannot_learn_xor_but_an_mlp_can():
    y = np.array(GATES["xor"])
    p = fn.Perceptron(learning_rate=0.1, max_epochs=200, seed=0).fit(INPUTS, y)
    assert not p.converged_ and p.n_epochs_ == 200
    assert min(p.errors_) >= 1  # every epoch makes a mistake: no line separates XOR
    assert p.score(INPUTS, y) <= 0.75
    mlp = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                        input_dim=2, seed=0)
    mlp.compile(optimizer=fn.SGD(learning_rate=0.5), loss="binary_crossentropy",
                metrics=["accuracy"])
    mlp.fit(INPUTS, y, epochs=1500, batch_size=1)
    assert mlp.evaluate(INPUTS, y)["accuracy"] == 1.0


def test_the_update_rule_by_hand():
    # x1 = (2, -1) labelled "no", x2 = -x1 labelled "yes", eta = 0.5, zero start. In either
    # order the one mistake is on x1 (z = 0 >= 0 predicts "yes"): w = -0.5 x1, b = -0.5; the
    # second epoch is clean.
    X = np.array([[2.0, -1.0], [-2.0, 1.0]])
    p = fn.Perceptron(learning_rate=0.5, seed=0).fit(X, ["no", "yes"])
    np.testing.assert_array_equal(p.coef_, [-1.0, 0.5])
    assert p.intercept_ == -0.5 and p.errors_ == [1, 0] and p.converged_
    np.testing.assert_array_equal(p.predict(X), ["no", "yes"])


def _reference_fit(X, t, eta, max_epochs, seed):
    """The rule in plain Python, visiting the samples in the same seeded orders."""
    rng = np.random.default_rng(seed)
    w, b, errors = np.zeros(X.shape[1]), 0.0, []
    for _ in range(max_epochs):
        mistakes = 0
        for i in rng.permutation(len(X)):
            error = t[i] - (1.0 if X[i] @ w + b >= 0 else 0.0)
            if error:
                mistakes += 1
                w, b = w + eta * error * X[i], b + eta * error
        errors.append(mistakes)
        if not mistakes:
            break
    return w, b, errors


def test_the_compiled_epochs_equal_the_rule_in_python(rng):
    X = rng.standard_normal((30, 4))
    t = (X @ [0.5, -1.0, 2.0, 0.1] + 0.2 * rng.standard_normal(30) > 0).astype(float)
    p = fn.Perceptron(learning_rate=0.3, max_epochs=25, seed=7).fit(X, t)
    w, b, errors = _reference_fit(X, t, 0.3, 25, 7)
    np.testing.assert_allclose(p.coef_, w, rtol=1e-12)
    assert p.intercept_ == pytest.approx(b) and p.errors_ == errors


def test_labels_and_reproducibility(rng):
    X = rng.standard_normal((60, 3))
    y = np.where(X @ [1.0, -2.0, 0.5] + 0.3 > 0, "pos", "neg")
    a = fn.Perceptron(seed=4).fit(X, y)
    b = fn.Perceptron(seed=4).fit(X, y)
    assert a.converged_ and a.score(X, y) == 1.0
    assert set(a.predict(X)) == {"pos", "neg"}
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.errors_ == b.errors_


@pytest.mark.parametrize("call, match", [
    (lambda: fn.Perceptron(learning_rate=0), "learning_rate"),
    (lambda: fn.Perceptron(max_epochs=0), "max_epochs"),
    (lambda: fn.Perceptron(seed=-1), "seed"),
    (lambda: fn.Perceptron().fit(INPUTS, [0, 1, 2, 0]), "two classes"),
    (lambda: fn.Perceptron().fit(INPUTS, [1, 1, 1, 1]), "two classes"),
    (lambda: fn.Perceptron().fit(INPUTS, [0, 1]), "4 rows but y has 2"),
    (lambda: fn.Perceptron().fit([[np.nan, 1.0], [0.0, 1.0]], [0, 1]), "NaN"),
    (lambda: fn.Perceptron().predict(INPUTS), "not fitted"),
    (lambda: fn.Perceptron().fit(INPUTS, GATES["or"]).predict(np.ones((2, 3))), "3 feature"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
