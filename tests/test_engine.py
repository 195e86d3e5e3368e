"""The engine's structure: the op table's named columns (writer and readers agree), the
TrainingState saved and restored whole, from_config, and on_train_end on every way out of fit."""

import numpy as np
import pytest

import fastnn as fn
from fastnn.kernels import network as net
from fastnn.layers import LAYERS


def _every_layer_kind():
    return [fn.Dense(5, activation="gelu", kernel_regularizer=fn.l1_l2(0.01, 0.02)),
            fn.BatchNormalization(momentum=0.8, epsilon=2e-3, center=False),
            fn.Activation("leaky_relu"), fn.Dropout(0.3), fn.PReLU(),
            fn.Maxout(4, 3, kernel_regularizer=fn.l2(0.05)), fn.Dense(2)]


def test_the_columns_are_named_once_and_each_kind_declares_its_own():
    assert len(set(net.OPS._fields) | set(net.OPF._fields)) == net.N_INT + net.N_FLOAT
    layers = _every_layer_kind()
    assert {type(layer).__name__ for layer in layers} == set(LAYERS)
    for layer in layers:
        declared = set(net.KIND_COLUMNS[layer.kind])
        assert not declared & set(net.COMMON_COLUMNS)
        assert set(layer.op_columns()) == declared, type(layer).__name__


def test_the_plan_writes_what_the_layers_say_and_the_cuda_reader_reads_it():
    """Every named column of a model with every op kind holds the layer's setting; the CUDA
    executor (whose op objects read the same named columns) sees the same values."""
    model = fn.Sequential(_every_layer_kind(), input_dim=3)
    ops, opf, _ = model.plan.tables(4)
    dense, bn, act, drop, _, maxout, _ = model.layers
    assert opf[0, net.OPF.l1] == 0.01 and opf[0, net.OPF.l2] == 0.02
    assert ops[0, net.OPS.act] == fn.activations.code_of("gelu") and ops[0, net.OPS.z_off] >= 0
    assert opf[1, net.OPF.momentum] == 0.8 and opf[1, net.OPF.epsilon] == 2e-3
    assert ops[2, net.OPS.act] == fn.activations.code_of("leaky_relu")
    assert opf[2, net.OPF.alpha] == 0.01 and ops[2, net.OPS.z_off] == -1
    assert opf[3, net.OPF.rate] == 0.3
    assert ops[5, net.OPS.pieces] == 3 and opf[5, net.OPF.l2] == 0.05
    with pytest.raises(ValueError, match="does not use the column 'rate'"):
        from fastnn.plan import write_row
        write_row(ops[0].copy(), opf[0].copy(), net.DENSE, {"rate": 0.5})


def test_training_state_is_saved_and_restored_whole(tmp_path, rng):
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    model = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1)], input_dim=3, seed=5)
    model.compile(optimizer=fn.Adam(0.01), loss="mse").fit(X, y, epochs=2, batch_size=8)
    state = model.training_state
    saved = state.save()
    expected_order = np.random.Generator(type(state.shuffle.bit_generator)())
    expected_order.bit_generator.state = saved.shuffle_state
    before = state.iterations
    model.fit(X, y, epochs=1, batch_size=8)
    assert state.iterations == before + 3
    state.restore(saved)
    assert state.iterations == before
    np.testing.assert_array_equal(state.optimizer_state, saved.optimizer_state)
    assert state.shuffle.permutation(5).tolist() == expected_order.permutation(5).tolist()
    model.save(tmp_path / "m.fnn")
    loaded = fn.load_model(tmp_path / "m.fnn")
    assert loaded.iterations == model.iterations
    np.testing.assert_array_equal(loaded.training_state.optimizer_state,
                                  model.training_state.optimizer_state)
    loaded.fit(X, y, epochs=1, batch_size=8)
    model.fit(X, y, epochs=1, batch_size=8)
    np.testing.assert_array_equal(loaded.params, model.params)


def test_from_config_rebuilds_the_architecture_and_compile_settings():
    model = fn.Sequential(_every_layer_kind(), input_dim=3, seed=4, name="m")
    model.compile(optimizer=fn.RMSprop(0.02, centered=True), loss=fn.losses.Huber(2.0),
                  metrics=["mae"])
    again = fn.Sequential.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    np.testing.assert_array_equal(again.params, model.params)  # the same seed: the same weights


def test_seed_none_is_a_fresh_seed_kept_in_the_model(tmp_path):
    a, b = (fn.Sequential([fn.Dense(1)], input_dim=2, seed=None) for _ in range(2))
    assert a.seed != b.seed
    a.compile(loss="mse").save(tmp_path / "a.fnn")
    assert fn.load_model(tmp_path / "a.fnn").seed == a.seed


def test_predict_and_evaluate_take_keras_verbose():
    model = fn.Sequential([fn.Dense(1)], input_dim=2).compile(loss="mse")
    X = np.ones((3, 2))
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose="auto"))
    assert set(model.evaluate(X, np.ones(3), verbose=1)) == {"loss"}
    with pytest.raises(ValueError, match="verbose"):
        model.predict(X, verbose=True)


class _Ends(fn.Callback):
    def __init__(self, fail_at=None):
        super().__init__()
        self.fail_at, self.ended = fail_at, False

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.fail_at:
            raise RuntimeError("callback failed")

    def on_train_end(self, logs=None):
        self.ended = True


def test_on_train_end_runs_for_every_callback_when_one_raises():
    model = fn.Sequential([fn.Dense(1)], input_dim=2).compile(loss="mse")
    first, failing, last = _Ends(), _Ends(fail_at=1), _Ends()
    early = fn.EarlyStopping(monitor="loss", patience=10)
    with pytest.raises(RuntimeError, match="callback failed"):
        model.fit(np.ones((4, 2)), np.ones(4), epochs=3, callbacks=[first, failing, early, last])
    assert first.ended and failing.ended and last.ended
