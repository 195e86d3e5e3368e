"""The new layers: forward values against NumPy, parameter layout, configs, errors, the model
file, and the 784-512-BN-ReLU-Dropout network training."""

import numpy as np
import pytest

import fastnn as fn
from fastnn import layers as layers_mod

EVERY_LAYER = [
    fn.Activation("tanh"), fn.Dropout(0.25), fn.BatchNormalization(momentum=0.9, epsilon=1e-4),
    fn.BatchNormalization(center=False, scale=False), fn.PReLU(0.1), fn.PReLU("random_normal"),
    fn.Maxout(3, 4, kernel_regularizer=fn.l2(0.1)),
    fn.Dense(2, activation="elu", kernel_regularizer=fn.l1_l2(0.1, 0.2)),
]


@pytest.mark.parametrize("layer", EVERY_LAYER, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    rebuilt = layers_mod.from_config(config)
    assert type(rebuilt) is type(layer)
    assert rebuilt.get_config() == config


def _numpy_forward(layer, x):
    """Each layer's inference formula, written independently in NumPy."""
    if isinstance(layer, fn.PReLU):
        return np.where(x > 0, x, layer.alpha * x)
    if isinstance(layer, fn.Maxout):
        z = np.einsum("ni,iup->nup", x, layer.kernel) + layer.bias
        return z.max(axis=2)
    if isinstance(layer, fn.Activation):
        return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0)}[layer.activation](x)
    raise AssertionError(layer)


@pytest.mark.parametrize("make", [lambda: fn.PReLU(), lambda: fn.Maxout(4, 3),
                                  lambda: fn.Activation("tanh"), lambda: fn.Activation("relu")],
                         ids=["prelu", "maxout", "tanh", "relu"])
def test_forward_against_numpy(make, rng):
    layer = make()
    model = fn.Sequential([layer], input_dim=5, seed=2, dtype="float64")
    model.params[:] = rng.standard_normal(model.params.size)
    X = rng.standard_normal((9, 5))
    np.testing.assert_allclose(model.predict(X), _numpy_forward(layer, X), rtol=1e-12)


def test_activation_layer_equals_dense_activation(rng):
    X = rng.standard_normal((6, 3))
    short = fn.Sequential([fn.Dense(4, activation="selu")], input_dim=3, seed=1)
    long = fn.Sequential([fn.Dense(4), fn.Activation("selu")], input_dim=3, seed=1)
    long.params[:] = short.params
    np.testing.assert_allclose(long.predict(X), short.predict(X), rtol=1e-6)


def test_parameter_layout_and_initial_values():
    model = fn.Sequential([fn.Dense(4), fn.BatchNormalization(), fn.PReLU(), fn.Maxout(2, 3),
                           fn.BatchNormalization(center=False), fn.Dropout(0.5)],
                          input_dim=3, seed=0)
    dense, bn, prelu, maxout, bn2, _ = model.layers
    assert model.count_params() == (3 * 4 + 4) + (4 + 4) + 4 + (4 * 2 * 3 + 2 * 3) + 2
    assert maxout.kernel.shape == (4, 2, 3) and maxout.bias.shape == (2, 3)
    assert bn2.beta is None and bn2.gamma.shape == (2,)
    for view in (bn.gamma, bn.beta, prelu.alpha, maxout.kernel, bn2.gamma):
        assert np.shares_memory(view, model.params)
    for view in (bn.moving_mean, bn.moving_variance, bn2.moving_variance):
        assert np.shares_memory(view, model.state)
    np.testing.assert_array_equal(bn.gamma, 1.0)
    np.testing.assert_array_equal(bn.beta, 0.0)
    np.testing.assert_array_equal(prelu.alpha, 0.25)
    np.testing.assert_array_equal(model.state, [0] * 4 + [1] * 4 + [0] * 2 + [1] * 2)
    assert np.all(maxout.kernel[:, :, 0] != maxout.kernel[:, :, 1])  # pieces drawn apart


@pytest.mark.parametrize("call, match", [
    (lambda: fn.Dropout(1.0), "rate"), (lambda: fn.Dropout(-0.1), "rate"),
    (lambda: fn.Dropout("half"), "rate"),
    (lambda: fn.BatchNormalization(momentum=1.5), "momentum"),
    (lambda: fn.BatchNormalization(epsilon=0), "epsilon"),
    (lambda: fn.BatchNormalization(epsilon=-1e-3), "epsilon"),
    (lambda: fn.Maxout(0, 2), "units"), (lambda: fn.Maxout(3, 0), "pieces"),
    (lambda: fn.Maxout(3, 2.5), "pieces"),
    (lambda: fn.PReLU(True), "alpha_initializer"), (lambda: fn.PReLU("slope"), "slope"),
    (lambda: fn.Activation("mish"), "mish"),
    (lambda: fn.Sequential([fn.Activation("step")], input_dim=2).compile(), "Perceptron"),
    (lambda: layers_mod.from_config({"class": "Conv2D"}), "Conv2D"),
])
def test_bad_settings_raise_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _every_layer_model(seed=0):
    return fn.Sequential([
        fn.Dense(8, kernel_regularizer=fn.l1_l2(1e-3, 1e-3)), fn.BatchNormalization(),
        fn.Activation("relu"), fn.Dropout(0.2), fn.PReLU(), fn.Maxout(4, 3),
        fn.BatchNormalization(center=False, momentum=0.9), fn.Dense(3),
        fn.Activation("softmax")], input_dim=5, seed=seed)


def test_model_file_round_trip_with_every_layer(tmp_path, rng):
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    model = _every_layer_model()
    model.compile(optimizer=fn.SGD(0.05), loss="scce", metrics=["accuracy"])
    model.fit(X, y, epochs=2, batch_size=8)
    model.save(tmp_path / "m.fnn")
    loaded = fn.load_model(tmp_path / "m.fnn")
    assert [layer.get_config() for layer in loaded.layers] == \
        [layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.state, model.state)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.evaluate(X, y) == model.evaluate(X, y)
    # Resumed training draws the same dropout masks (seed and step are restored).
    model.fit(X, y, epochs=1, batch_size=8)
    loaded.fit(X, y, epochs=1, batch_size=8)
    assert loaded.params.tobytes() == model.params.tobytes()
    assert loaded.state.tobytes() == model.state.tobytes()


def test_every_layer_training_is_reproducible(rng):
    X = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)

    def train(seed):
        model = _every_layer_model(seed)
        model.compile(optimizer=fn.SGD(0.05), loss="scce")
        model.fit(X, y, epochs=2, batch_size=8)
        return model.params.tobytes() + model.state.tobytes()

    assert train(0) == train(0)
    assert train(0) != train(1)


def test_the_bn_dropout_seed_network_trains(rng):
    # Benchmark B4's architecture on a few synthetic MNIST-shaped rows from a teacher network.
    X = rng.random((256, 784)).astype(np.float32)
    y = np.argmax(X @ rng.standard_normal((784, 10)), axis=1)
    model = fn.Sequential([
        fn.Dense(512), fn.BatchNormalization(), fn.Activation("relu"), fn.Dropout(0.2),
        fn.Dense(512), fn.BatchNormalization(), fn.Activation("relu"), fn.Dropout(0.2),
        fn.Dense(10, activation="softmax")], input_dim=784, seed=0)
    model.compile(optimizer=fn.RMSprop(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=6, batch_size=32)
    losses = history.history["loss"]
    assert losses[-1] < 0.1 * losses[0]
    assert history.history["accuracy"][-1] > 0.95
    assert model.evaluate(X, y)["accuracy"] > 0.9  # inference, with the running statistics
