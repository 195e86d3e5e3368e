"""Models on device="cuda" against the same models on the CPU: gradients, training, prediction.

Runs on a GPU where there is one, else on Numba's CUDA simulator (conftest.py); tiny models.
"""

import numpy as np
import pytest

import fastnn as fn
from fastnn.cuda._launch import TILE
from fastnn.cuda.device import CudaUnavailableError, cuda_module
from fastnn.cuda.trainer import CudaTrainer
from fastnn.layers import Layer
from fastnn.trainer import CpuTrainer


def _cuda_usable():
    try:
        cuda_module()
    except CudaUnavailableError:
        return False
    return True


pytestmark = [pytest.mark.skipif(not _cuda_usable(), reason="no CUDA GPU and no simulator"),
              pytest.mark.usefixtures("simulator_switching")]


def _pair(make_layers, loss, n_in, dtype="float32", lr=0.1, seed=3, metrics=None,
          optimizer=None):
    """The same model (same seed, same initial weights) on the CPU and on CUDA; ``optimizer``
    a function that makes the optimizer (default SGD(lr))."""
    models = []
    for device in ("cpu", "cuda"):
        model = fn.Sequential(make_layers(), input_dim=n_in, seed=seed, dtype=dtype,
                              device=device)
        model.compile(optimizer=optimizer() if optimizer else fn.SGD(lr), loss=loss,
                      metrics=metrics)
        models.append(model)
    return models


def _data(loss, n, n_in, n_out, rng):
    X = rng.normal(size=(n, n_in))
    if loss in ("sparse_categorical_crossentropy",):
        return X, rng.integers(0, n_out, size=n)
    if loss == "categorical_crossentropy":
        return X, np.eye(n_out)[rng.integers(0, n_out, size=n)]
    if loss in ("binary_crossentropy", "hinge"):
        return X, rng.integers(0, 2, size=(n, n_out))
    return X, rng.normal(size=(n, n_out))


@pytest.mark.parametrize("hidden,output,loss", [
    ("tanh", "softmax", "categorical_crossentropy"),        # fused softmax + CE
    ("relu", "sigmoid", "binary_crossentropy"),             # fused sigmoid + BCE
    ("selu", "softmax", "sparse_categorical_crossentropy"),
    ("softplus", "sigmoid", "mse"),                          # sigmoid derivative, not fused
    ("leaky_relu", "softmax", "mse"),                        # the softmax backward kernel
    ("elu", "linear", "huber"),
    ("sigmoid", "tanh", "hinge"),
    ("linear", "relu", "mae"),
])
def test_gradients_match_cpu(hidden, output, loss, rng):
    """compute_gradients (all rows as one batch) on CUDA equals the CPU's in float64."""
    n_out = 1 if output == "sigmoid" and loss == "binary_crossentropy" else 3
    cpu, gpu = _pair(lambda: [fn.Dense(5, activation=hidden), fn.Dense(n_out, activation=output)],
                     loss, 4, dtype="float64")
    X, y = _data(loss, 9, 4, n_out, rng)
    np.testing.assert_allclose(gpu.compute_gradients(X, y), cpu.compute_gradients(X, y),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the simulator's uint64 hash
@pytest.mark.parametrize("layers,loss,n_out", [
    (lambda: [fn.Dense(6), fn.BatchNormalization(), fn.Activation("relu"),
              fn.Dense(3, activation="softmax")], "categorical_crossentropy", 3),
    (lambda: [fn.Dense(6, activation="tanh"), fn.Dropout(0.4), fn.Dense(2)], "mse", 2),
    (lambda: [fn.Dense(5), fn.PReLU(), fn.Dense(1, activation="sigmoid")],
     "binary_crossentropy", 1),
    (lambda: [fn.Maxout(4, pieces=3), fn.Dense(2)], "huber", 2),
    (lambda: [fn.Dense(5, activation="relu", kernel_regularizer=fn.l1_l2(0.01, 0.02)),
              fn.Maxout(3, 2, kernel_regularizer=fn.l2(0.05)), fn.Dense(1)], "mse", 1),
    (lambda: [fn.Dense(4), fn.BatchNormalization(center=False, momentum=0.5),
              fn.Dropout(0.3), fn.Dense(3), fn.Activation("softmax")],
     "sparse_categorical_crossentropy", 3),            # the Activation layer fused with the loss
], ids=["batchnorm", "dropout", "prelu", "maxout", "regularizers", "bn-dropout-activation"])
def test_layer_gradients_and_loss_match_cpu(layers, loss, n_out, rng):
    """compute_gradients in training mode (batch statistics, the dropout masks of the model's
    step, the regularizers' penalty in loss and gradient) on CUDA equals the CPU's, float64."""
    cpu, gpu = _pair(layers, loss, 4, dtype="float64")
    for model in (cpu, gpu):
        model.training_state.iterations = 5  # the masks of update step 5
    X, y = _data(loss, 9, 4, n_out, rng)
    loss_cpu, grads_cpu = cpu.compute_gradients(X, y, return_loss=True)
    loss_gpu, grads_gpu = gpu.compute_gradients(X, y, return_loss=True)
    np.testing.assert_allclose(grads_gpu, grads_cpu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss_gpu, loss_cpu, rtol=1e-12)
    np.testing.assert_array_equal(gpu.state, cpu.state)  # running statistics untouched


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_an_epoch_with_batchnorm_and_dropout_gives_the_same_weights_as_cpu(rng):
    """The layer pattern of the BatchNorm-and-dropout benchmark workload: the same masks, the same
    running statistics, weights within float32 tolerance; predict then uses the running
    statistics and no dropout, on both. (SGD, not that workload's RMSprop: the gradient of a bias
    just before BatchNorm is zero up to rounding, and RMSprop would scale that rounding noise up
    to full-size steps that differ between devices.)"""
    def layers():
        return [fn.Dense(8), fn.BatchNormalization(), fn.Activation("relu"), fn.Dropout(0.25),
                fn.Dense(3, activation="softmax")]

    cpu, gpu = _pair(layers, "sparse_categorical_crossentropy", 5, metrics=["accuracy"],
                     optimizer=lambda: fn.SGD(0.1, momentum=0.9))
    X, y = _data("sparse_categorical_crossentropy", 20, 5, 3, rng)
    h_cpu = cpu.fit(X, y, epochs=1, batch_size=8)
    h_gpu = gpu.fit(X, y, epochs=1, batch_size=8)
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu.state, cpu.state, rtol=1e-5, atol=1e-6)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(h_gpu.history[key], h_cpu.history[key], rtol=1e-5)
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-5, atol=1e-6)


def test_gradients_match_cpu_across_several_tiles(rng):
    """TILE + 2 inputs, TILE + 4 rows, TILE + 1 units: every product spans two tiles of the
    matrix product in each dimension, with ragged edges."""
    cpu, gpu = _pair(lambda: [fn.Dense(TILE + 1, activation="tanh"), fn.BatchNormalization(),
                              fn.Dense(3, activation="softmax")],
                     "sparse_categorical_crossentropy", TILE + 2, dtype="float64")
    X, y = _data("sparse_categorical_crossentropy", TILE + 4, TILE + 2, 3, rng)
    np.testing.assert_allclose(gpu.compute_gradients(X, y), cpu.compute_gradients(X, y),
                               rtol=1e-9, atol=1e-12)


def _mlp():
    return [fn.Dense(7, activation="relu"), fn.Dense(6, activation="tanh"),
            fn.Dense(3, activation="softmax")]


def test_two_epochs_give_the_same_weights_history_and_predictions_as_cpu(rng, tmp_path):
    """Same seed, same shuffles, a ragged last batch: weights within float32 tolerance, the same
    history, the same number of updates; then predict/evaluate in chunks, and the saved model."""
    cpu, gpu = _pair(_mlp, "categorical_crossentropy", 4, metrics=["accuracy", "mae", "rmse"])
    X, y = _data("categorical_crossentropy", 10, 4, 3, rng)
    h_cpu = cpu.fit(X, y, epochs=2, batch_size=6)
    h_gpu = gpu.fit(X, y, epochs=2, batch_size=6)
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-5, atol=1e-6)
    assert gpu.iterations == cpu.iterations == 4
    assert h_gpu.history.keys() == h_cpu.history.keys()
    for key, values in h_cpu.history.items():
        if key != "time":
            np.testing.assert_allclose(h_gpu.history[key], values, rtol=1e-5)
    np.testing.assert_allclose(gpu.predict(X, batch_size=6), cpu.predict(X), rtol=1e-5,
                               atol=1e-6)
    on_gpu = gpu.evaluate(X, y, batch_size=4)
    for key, value in cpu.evaluate(X, y).items():
        np.testing.assert_allclose(on_gpu[key], value, rtol=1e-5)
    gpu.save(tmp_path / "m.fnn")
    loaded = fn.load_model(tmp_path / "m.fnn")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.params, gpu.params)


@pytest.mark.parametrize("optimizer", [
    lambda: fn.Adam(fn.schedules.ExponentialDecay(0.01, 0.1), clipnorm=0.5),
    lambda: fn.RMSprop(0.01, momentum=0.5, centered=True, clipvalue=0.05, decay=0.1),
    lambda: fn.Nadam(fn.schedules.CosineDecay(0.02, decay_steps=4)),
    lambda: fn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01, clipnorm=0.3,
                   clipvalue=0.02),
], ids=["adam-exponential-clipnorm", "rmsprop-centered-clipvalue-decay", "nadam-cosine",
        "nesterov-both-clips"])
def test_optimizers_schedules_and_clipping_train_as_on_cpu(optimizer, rng):
    cpu, gpu = _pair(lambda: [fn.Dense(5, activation="tanh"), fn.Dense(2)], "mse", 3,
                     optimizer=optimizer)
    X, y = _data("mse", 12, 3, 2, rng)
    h_cpu = cpu.fit(X, y, epochs=1, batch_size=5)
    h_gpu = gpu.fit(X, y, epochs=1, batch_size=5)
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(gpu.training_state.optimizer_state,
                               cpu.training_state.optimizer_state, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(h_gpu.history["lr"], h_cpu.history["lr"], rtol=1e-12)
    np.testing.assert_allclose(h_gpu.history["loss"], h_cpu.history["loss"], rtol=1e-5)


def test_streamed_data_gives_the_same_weights_as_resident_data(rng):
    """Data larger than the device limit is copied in chunks of whole batches."""
    models = [fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1)], input_dim=3, seed=1,
                            device="cuda").compile(optimizer="sgd", loss="mse")
              for _ in range(2)]
    X, y = _data("mse", 9, 3, 1, rng)  # batches of 4, 4 and 1 rows: chunks of 2 and 1 batches
    trainers = []
    for model, limit in zip(models, (None, 2 * 4 * 4 * 4)):  # 2 batches of 4 rows of 4 floats
        trainer = CudaTrainer(model, *model._data(X, y), 4, device_data_limit=limit)
        values = trainer.run_epoch(shuffle=True)
        trainers.append((trainer, values))
    (resident, v_resident), (streamed, v_streamed) = trainers
    assert resident.resident and not streamed.resident and streamed.data_chunk_batches == 2
    np.testing.assert_array_equal(models[1].params, models[0].params)
    assert v_streamed == v_resident


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_a_diverging_epoch_stops_at_the_same_batch_as_cpu(rng):
    """The batch whose loss is not finite is not applied, nor any after it: the trainer reports
    the same batch and update count as the CPU's; fit then restores the initial weights."""
    cpu, gpu = _pair(lambda: [fn.Dense(3, activation="relu"), fn.Dense(1)], "mse", 2, lr=1e20)
    X = rng.normal(size=(12, 2))
    y = np.full(12, 1e3)
    initial = gpu.params.copy()
    for model, trainer_class in ((cpu, CpuTrainer), (gpu, CudaTrainer)):
        trainer = trainer_class(model, *model._data(X, y), 4)
        assert trainer.run_epoch(shuffle=False) is False
    assert gpu.iterations == cpu.iterations == 1
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-5)
    gpu.params[:] = initial
    gpu.training_state.iterations = 0
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        gpu.fit(X, y, epochs=1, batch_size=4, shuffle=False)
    np.testing.assert_array_equal(gpu.params, initial)


class _NoCudaLayer(Layer):
    kind = 99  # an op kind with no CUDA twin


class _NoCudaOptimizer(fn.SGD):
    code = 99
    name = "no_cuda_optimizer"


@pytest.mark.parametrize("layers,optimizer,message", [
    (lambda: [fn.Dense(2), _NoCudaLayer()], "sgd", "layer _NoCudaLayer has no CUDA kernel"),
    (lambda: [fn.Dense(2)], _NoCudaOptimizer(0.1), "'no_cuda_optimizer' optimizer has no CUDA"),
])
def test_ops_without_a_cuda_twin_are_refused_not_run_on_cpu(layers, optimizer, message):
    model = fn.Sequential(layers(), input_dim=2, device="cuda")
    model.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(ValueError, match=message):
        model.fit(np.ones((4, 2)), np.ones((4, 2)))


def test_the_layer_monitor_is_refused_not_run_on_cpu():
    model = fn.Sequential([fn.Dense(2)], input_dim=2, device="cuda").compile(loss="mse")
    with pytest.raises(ValueError, match="GradientMonitor.*no CUDA kernel"):
        model.fit(np.ones((4, 2)), np.ones((4, 2)), callbacks=[fn.GradientMonitor()])


def test_validation_and_progress_as_on_cpu(rng):
    """Validation runs the CUDA forward pass every epoch; progress is reported per chunk of
    batches, with only the stats copied back between chunks."""
    cpu, gpu = _pair(lambda: [fn.Dense(4, activation="tanh"), fn.Dense(1)], "mse", 3)
    X, y = _data("mse", 12, 3, 1, rng)
    calls = {"cpu": [], "cuda": []}
    for model in (cpu, gpu):
        model.fit(X, y, epochs=2, batch_size=4, validation_split=0.25,
                  progress=lambda *args, device=model.device: calls[device].append(args))
    assert calls["cuda"] == calls["cpu"] == [(0, 3, 3), (1, 3, 3)]
    np.testing.assert_allclose(gpu.history.history["val_loss"], cpu.history.history["val_loss"],
                               rtol=1e-5)
    for model, trainer_class in ((cpu, CpuTrainer), (gpu, CudaTrainer)):  # chunks of one batch
        trainer = trainer_class(model, *model._data(X, y), 4)
        trainer.chunk_batches = 1
        done = []
        assert trainer.run_epoch(True, lambda d, n: done.append((d, n))) is True
        assert done == [(1, 3), (2, 3), (3, 3)]
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-5, atol=1e-6)


def test_to_moves_a_model_between_devices(rng):
    model = fn.Sequential(_mlp(), input_dim=4, seed=2).compile(loss="mse")
    X = rng.normal(size=(5, 4))
    on_cpu = model.predict(X)
    assert model.to("CUDA") is model and model.device == "cuda"
    np.testing.assert_allclose(model.predict(X), on_cpu, rtol=1e-5, atol=1e-6)
    assert model.to("cpu").device == "cpu"
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        model.to("tpu")
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        fn.Sequential(device=0)
