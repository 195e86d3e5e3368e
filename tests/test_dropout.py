"""Dropout: the counter-based masks, their statistics, inference, and reproducibility."""

import numpy as np
import pytest

import fastnn as fn
from fastnn.kernels import random as rnd
from training_mode import training_forward

MASK64 = 2**64 - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _reference_bits(seed, step, stream, index):
    """The documented hash (fastnn/kernels/random.py) in plain Python integers."""
    k = _mix64((seed + GOLDEN) & MASK64)
    k = _mix64(((k ^ step) + GOLDEN) & MASK64)
    k = _mix64(((k ^ stream) + GOLDEN) & MASK64)
    return _mix64((k + (index + 1) * GOLDEN) & MASK64)


@pytest.mark.parametrize("seed, step, stream, index", [
    (0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1),
    (42, 12345, 3, 99999), (2**64 - 1, 2**40, 17, 2**31),
])
def test_hash_matches_the_documented_formula(seed, step, stream, index):
    key = rnd.stream_key(np.uint64(seed), np.int64(step), np.int64(stream))
    bits = rnd.random_bits(np.uint64(key), np.int64(index))
    assert int(bits) == _reference_bits(seed, step, stream, index)


def test_the_splitmix64_constants_give_its_published_first_output():
    # SplitMix64 seeded with 0 first outputs 0xE220A8397B1DCDAF (Vigna's splitmix64.c).
    assert int(rnd.random_bits(np.uint64(0), 0)) == 0xE220A8397B1DCDAF


def _dropout_model(rate, width=400, seed=5):
    return fn.Sequential([fn.Dropout(rate)], input_dim=width, seed=seed)


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.8])
def test_mask_statistics(rate):
    ones = np.ones((250, 400))  # 100k elements
    out = training_forward(_dropout_model(rate), ones).astype(np.float64)
    kept = out != 0
    assert abs((~kept).mean() - rate) < 0.01  # about 5 standard deviations at rate 0.5
    np.testing.assert_allclose(out[kept], 1 / (1 - rate), rtol=1e-6)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(rate / (1 - rate) / out.size)


def test_mean_activation_is_preserved_on_real_values(rng):
    X = rng.uniform(0.5, 1.5, (200, 300))
    out = training_forward(_dropout_model(0.3, width=300), X).astype(np.float64)
    assert out.mean() == pytest.approx(X.mean(), rel=0.01)


def test_masks_depend_on_seed_step_and_op_and_repeat_exactly():
    ones = np.ones((50, 40))
    mask = lambda model, step: training_forward(model, ones, step) != 0  # noqa: E731
    model = fn.Sequential([fn.Dropout(0.5), fn.Dropout(0.5)], input_dim=40, seed=1)
    first = mask(model, 0)
    np.testing.assert_array_equal(first, mask(model, 0))
    one_op = fn.Sequential([fn.Dropout(0.5)], input_dim=40, seed=1)
    assert (mask(one_op, 0) != first).mean() > 0.2  # a second op draws its own mask
    assert (mask(model, 1) != first).mean() > 0.2
    other_seed = fn.Sequential([fn.Dropout(0.5), fn.Dropout(0.5)], input_dim=40, seed=2)
    assert (mask(other_seed, 0) != first).mean() > 0.2


def test_rate_zero_is_the_identity_in_training(rng):
    X = rng.standard_normal((10, 7))
    out = training_forward(fn.Sequential([fn.Dropout(0.0)], input_dim=7), X)
    np.testing.assert_array_equal(out, X.astype(np.float32))


def _net(dropout, seed=3):
    layers = [fn.Dense(16, activation="relu")] + ([fn.Dropout(0.5)] if dropout else []) + \
        [fn.Dense(1, activation="sigmoid")]
    model = fn.Sequential(layers, input_dim=6, seed=seed)
    model.compile(optimizer=fn.SGD(0.1), loss="bce", metrics=["accuracy"])
    return model


def _data(rng, n=96):
    X = rng.standard_normal((n, 6))
    return X, (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(float)


def test_predict_and_evaluate_are_deterministic_and_equal_the_net_without_dropout(rng):
    X, y = _data(rng)
    with_dropout, without = _net(True), _net(False)
    np.testing.assert_array_equal(with_dropout.params, without.params)  # same seed, same init
    with_dropout.fit(X, y, epochs=2, batch_size=16)
    without.params[:] = with_dropout.params
    first = with_dropout.predict(X)
    np.testing.assert_array_equal(first, with_dropout.predict(X))
    np.testing.assert_array_equal(first, without.predict(X))
    assert with_dropout.evaluate(X, y) == without.evaluate(X, y)


def test_training_with_dropout_is_reproducible_and_uses_the_masks(rng):
    X, y = _data(rng)

    def train(dropout, seed=3):
        model = _net(dropout, seed)
        model.fit(X, y, epochs=3, batch_size=8)
        return model.params.copy()

    first = train(True)
    assert first.tobytes() == train(True).tobytes()
    assert first.tobytes() != train(False).tobytes()
    other = _net(True, seed=4)
    other.params[:] = _net(True, seed=3).params  # same start, other masks
    other.fit(X, y, epochs=3, batch_size=8)
    assert other.params.tobytes() != first.tobytes()
