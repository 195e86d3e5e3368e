"""Training behaviour: it learns, it is reproducible, and the batch arithmetic is right."""

import numpy as np
import pytest

import fastnn as fn

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def _teacher_data(rng, n=400, d=6):
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = (np.tanh(X @ w) + 0.3 * X[:, 0] ** 2 > 0.2).astype(float)
    return X, y


def test_xor_reaches_full_accuracy():
    model = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=2, seed=0)
    model.compile(optimizer=fn.SGD(learning_rate=0.5), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(XOR_X, XOR_Y, epochs=1500, batch_size=1)
    assert model.evaluate(XOR_X, XOR_Y)["accuracy"] == 1.0
    np.testing.assert_array_equal((model.predict(XOR_X)[:, 0] > 0.5).astype(int), XOR_Y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_falls_on_a_learnable_task(dtype, rng):
    X, y = _teacher_data(rng)
    model = fn.Sequential([fn.Dense(16, activation="relu"), fn.Dense(1, activation="sigmoid")],
                          input_dim=X.shape[1], seed=2, dtype=dtype)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="bce", metrics=["accuracy"])
    history = model.fit(X, y, epochs=30, batch_size=16)
    losses = history.history["loss"]
    assert len(losses) == 30
    assert history.history["lr"] == [0.1] * 30
    assert losses[-1] < 0.6 * losses[0]
    assert history.history["accuracy"][-1] > 0.85


def test_regression_metrics(rng):
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1
    model = fn.Sequential([fn.Dense(8, activation="tanh"), fn.Dense(1)], input_dim=3, seed=0)
    model.compile(optimizer=fn.SGD(0.05), loss="mse", metrics=["mae", "rmse", "r2", "mse"])
    model.fit(X, y, epochs=40, batch_size=8)
    result = model.evaluate(X, y)
    pred = model.predict(X)[:, 0].astype(float)
    assert result["mse"] == pytest.approx(((pred - y) ** 2).mean(), rel=1e-4)
    assert result["rmse"] == pytest.approx(np.sqrt(result["mse"]), rel=1e-6)
    assert result["mae"] == pytest.approx(np.abs(pred - y).mean(), rel=1e-4)
    assert result["r2"] == pytest.approx(1 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum(),
                                         rel=1e-4)
    assert result["r2"] > 0.95


def test_same_seed_gives_bit_identical_parameters(rng):
    X, y = _teacher_data(rng, n=100)

    def train():
        model = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
                              input_dim=X.shape[1], seed=42)
        model.compile(optimizer="sgd", loss="bce")
        model.fit(X, y, epochs=5, batch_size=7)
        return model.params.copy()

    first, second = train(), train()
    assert first.tobytes() == second.tobytes()
    other = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
                          input_dim=X.shape[1], seed=43)
    assert other.params.tobytes() != fn.Sequential(
        [fn.Dense(8, activation="relu"), fn.Dense(1, activation="sigmoid")],
        input_dim=X.shape[1], seed=42).params.tobytes()


def test_parameter_count_of_the_4_3_2_1_network():
    model = fn.Sequential([fn.Dense(3, activation="sigmoid"), fn.Dense(2, activation="sigmoid"),
                           fn.Dense(1, activation="sigmoid")], input_dim=4, seed=0)
    assert model.count_params() == 26 == model.params.size
    text = model.summary(print_fn=None)
    assert "Total params: 26" in text and "(None, 3)" in text


@pytest.mark.parametrize("n, batch_size, drop_last, updates", [
    (200, 5, False, 40), (200, 1, False, 200), (200, 200, False, 1), (200, None, False, 1),
    (203, 5, False, 41), (203, 5, True, 40), (10, 64, False, 1),
])
def test_updates_per_epoch(n, batch_size, drop_last, updates, rng):
    X = rng.standard_normal((n, 2))
    y = rng.standard_normal(n)
    model = fn.Sequential([fn.Dense(1)], input_dim=2, seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, y, epochs=2, batch_size=batch_size, drop_last=drop_last)
    assert model.iterations == 2 * updates


def test_last_partial_batch_is_a_mean_over_its_own_rows():
    # Linear model, zero weights, SGD lr 1, mse: after the 3-row batch and the 1-row batch
    # the bias moved by 2*mean(y) of each batch, not by a mean padded to the batch size.
    X = np.zeros((4, 1))
    y = np.array([1.0, 2.0, 3.0, 10.0])
    model = fn.Sequential([fn.Dense(1, kernel_initializer="zeros")], input_dim=1, seed=0,
                          dtype="float64")
    model.compile(optimizer=fn.SGD(learning_rate=0.25), loss="mse")
    model.fit(X, y, epochs=1, batch_size=3, shuffle=False)
    b = 0.0
    b += 0.25 * 2 * np.mean(y[:3] - b)
    b += 0.25 * 2 * np.mean(y[3:] - b)
    assert model.layers[0].bias[0] == pytest.approx(b)


def test_params_is_a_writable_view_shared_with_the_layers():
    model = fn.Sequential([fn.Dense(2), fn.Dense(1)], input_dim=3, seed=0)
    model.params[:] = 0.5
    assert np.all(model.layers[0].kernel == 0.5) and np.all(model.layers[1].bias == 0.5)
    assert model.layers[0].kernel.shape == (3, 2)
    assert np.shares_memory(model.params, model.layers[1].kernel)


def test_model_builds_on_first_fit_when_input_dim_is_omitted(rng):
    model = fn.Sequential([fn.Dense(3, activation="relu"), fn.Dense(1)], seed=0)
    model.compile(loss="mse")
    model.fit(rng.standard_normal((10, 5)), rng.standard_normal(10), epochs=1)
    assert model.input_dim == 5 and model.count_params() == 5 * 3 + 3 + 3 + 1


def test_a_second_architecture_does_not_compile_again(rng):
    from fastnn.kernels.training import train_batches

    def fit(widths):
        model = fn.Sequential([fn.Dense(w, activation="relu") for w in widths] + [fn.Dense(1)],
                              input_dim=3, seed=0)
        model.compile(loss="mse")
        model.fit(rng.standard_normal((20, 3)), rng.standard_normal(20), epochs=1)

    fit([4])
    compiled = len(train_batches.signatures)
    fit([7, 9, 2])
    assert len(train_batches.signatures) == compiled


def test_sparse_categorical_training(rng):
    X = rng.standard_normal((300, 4))
    y = np.argmax(X[:, :3], axis=1)
    model = fn.Sequential([fn.Dense(16, activation="relu"), fn.Dense(3, activation="softmax")],
                          input_dim=4, seed=0)
    model.compile(optimizer=fn.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(X, y, epochs=40, batch_size=16)
    assert model.evaluate(X, y)["accuracy"] > 0.9
    assert np.allclose(model.predict(X).sum(axis=1), 1.0, atol=1e-5)


def test_a_rate_changed_between_fits_is_used(rng):
    X = rng.standard_normal((20, 2))
    y = rng.standard_normal(20)
    model = fn.Sequential([fn.Dense(1)], input_dim=2, seed=0)
    model.compile(optimizer=fn.SGD(0.1), loss="mse")
    model.fit(X, y, epochs=1)
    model.optimizer.learning_rate = 0.01
    assert model.fit(X, y, epochs=1).history["lr"] == [0.01]


def test_error_metrics_with_sparse_targets_compare_against_one_hot_rows(rng):
    X = rng.standard_normal((40, 3))
    y = rng.integers(0, 3, 40)
    model = fn.Sequential([fn.Dense(3, activation="softmax")], input_dim=3, seed=0)
    model.compile(optimizer=fn.SGD(0.0001), loss="scce", metrics=["mae", "mse"])
    history = model.fit(X, y, epochs=1, batch_size=40, shuffle=False)
    onehot = np.eye(3)[y]
    before_fit = fn.Sequential([fn.Dense(3, activation="softmax")], input_dim=3, seed=0)
    p = before_fit.predict(X).astype(float)
    assert history.history["mae"][0] == pytest.approx(np.abs(p - onehot).mean(), rel=1e-5)
    result = model.evaluate(X, y)
    p = model.predict(X).astype(float)
    assert result["mse"] == pytest.approx(((p - onehot) ** 2).mean(), rel=1e-5)
