"""Training with each batch's rows split between threads (fastnn/row_split.py,
fastnn/kernels/row_split.py): the same training as the single-thread loop up to the order of
sums, the same bits run to run, and the fits it cannot take left to the single-thread loop."""

import threading

import numpy as np
import pytest

import fastnn as fn
from fastnn import memory, row_split, threads
from fastnn.kernels.training import STAT_NONFINITE
from fastnn.trainer import CpuTrainer


@pytest.fixture
def split_in(monkeypatch):
    """``split_in(parts)``: from now on fits split each batch's rows in ``parts`` threads
    ("rows", the BLAS configured for ``parts``); the setting is put back afterwards. Records
    the RowSplit objects made in ``split_in.made``."""
    saved = threads.get_num_threads()
    made = []
    real = row_split.RowSplit

    def recording(trainer, parts):
        made.append(parts)
        return real(trainer, parts)

    monkeypatch.setattr(row_split, "RowSplit", recording)

    def split(parts):
        monkeypatch.setattr(threads, "configured_threads", lambda: parts)
        threads.set_num_threads(threads.ROWS)

    split.made = made
    yield split
    threads.set_num_threads(saved)


def _softmax_dropout(rng):
    X, y = rng.standard_normal((203, 12)), rng.integers(0, 3, 203)
    layers = [fn.Dense(24, activation="relu"), fn.Dropout(0.3), fn.Dense(16, activation="tanh"),
              fn.Dense(3, activation="softmax")]
    return layers, X, y, dict(optimizer=fn.Adam(learning_rate=0.01),
                              loss="sparse_categorical_crossentropy"), {}


def _binary_clip_value(rng):
    X = rng.standard_normal((160, 7))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    layers = [fn.Dense(9, activation="elu"), fn.Dense(1, activation="sigmoid")]
    return layers, X, y, dict(optimizer=fn.SGD(learning_rate=0.1, momentum=0.9, clipvalue=0.05),
                              loss="binary_crossentropy"), {}


def _weighted_penalty_clip_norm(rng):
    X = rng.standard_normal((150, 5))
    y = X @ rng.standard_normal(5)
    layers = [fn.Dense(11, activation="relu", kernel_regularizer=fn.l2(1e-3)), fn.Dense(1)]
    return layers, X, y, dict(optimizer=fn.RMSprop(learning_rate=0.01, clipnorm=0.5),
                              loss="mse"), dict(sample_weight=rng.uniform(0.1, 2.0, 150))


def _prelu_maxout_nadam(rng):
    X, y = rng.standard_normal((120, 6)), rng.integers(0, 4, 120)
    layers = [fn.Dense(10), fn.PReLU(), fn.Maxout(6, pieces=3), fn.Dense(4, activation="softmax")]
    return layers, X, y, dict(optimizer=fn.Nadam(learning_rate=0.01),
                              loss="sparse_categorical_crossentropy"), {}


def _batchnorm_dropout_rmsprop(rng):
    X, y = rng.standard_normal((193, 9)) * 3 + 1, rng.integers(0, 3, 193)
    layers = [fn.Dense(14), fn.BatchNormalization(momentum=0.9), fn.Activation("relu"),
              fn.Dropout(0.2), fn.Dense(10), fn.BatchNormalization(center=False),
              fn.Activation("tanh"), fn.Dense(3, activation="softmax")]
    return layers, X, y, dict(optimizer=fn.RMSprop(learning_rate=0.01),
                              loss="sparse_categorical_crossentropy"), {}


def _lion_schedule(rng):
    X = rng.standard_normal((130, 4))
    y = np.stack([X[:, 0] * X[:, 1], X[:, 2]], axis=1)
    schedule = fn.schedules.CosineDecay(initial_learning_rate=0.01, decay_steps=20)
    layers = [fn.Dense(8, activation="tanh"), fn.Dense(2)]
    return layers, X, y, dict(optimizer=fn.Lion(learning_rate=schedule), loss="huber"), {}


# (name, the fit's layers, data, compile and fit arguments; batch size; parts)
CASES = [
    ("softmax, dropout, adam", _softmax_dropout, 48, 2),
    ("softmax, dropout, adam, 3 uneven parts", _softmax_dropout, 50, 3),
    ("sigmoid, sgd momentum, clip by value", _binary_clip_value, 32, 2),
    ("sample weights, l2 penalty, clip by norm (serial update)", _weighted_penalty_clip_norm,
     40, 2),
    ("prelu, maxout, nadam", _prelu_maxout_nadam, 30, 3),
    ("two outputs, huber, lion, cosine schedule", _lion_schedule, 26, 2),
    ("batchnorm, dropout, rmsprop (last batch: 1 row, part 0's alone)",
     _batchnorm_dropout_rmsprop, 32, 2),
    ("batchnorm, 3 parts (last batch: 1 row, part 0's alone)", _batchnorm_dropout_rmsprop,
     48, 3),
]


def _fit(make, batch_size, seed=0):
    layers, X, y, settings, fit_args = make(np.random.default_rng(seed))
    model = fn.Sequential(layers, input_dim=X.shape[1], seed=3, dtype="float64")
    model.compile(**settings)
    history = model.fit(X, y, epochs=3, batch_size=batch_size, **fit_args)
    return model, history


@pytest.mark.parametrize("name, make, batch_size, parts", CASES, ids=[c[0] for c in CASES])
def test_split_rows_train_as_one_thread_does(name, make, batch_size, parts, split_in):
    threads.set_num_threads(1)
    expected, expected_history = _fit(make, batch_size)
    split_in(parts)
    model, history = _fit(make, batch_size)
    assert split_in.made == [parts]
    # atol: a Dense bias before BatchNorm has a gradient of 0 up to rounding (1e-12 here)
    np.testing.assert_allclose(model.params, expected.params, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.training_state.optimizer_state,
                               expected.training_state.optimizer_state, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.state, expected.state, rtol=1e-9, atol=1e-9)
    for key in ("loss", "lr"):
        np.testing.assert_allclose(history.history[key], expected_history.history[key],
                                   rtol=1e-9)
    assert model.training_state.counters.tolist() == expected.training_state.counters.tolist()


def test_split_rows_give_the_same_bits_on_every_run(split_in):
    split_in(2)
    first, _ = _fit(_softmax_dropout, 40)
    second, _ = _fit(_softmax_dropout, 40)
    assert split_in.made == [2, 2]
    assert first.params.tobytes() == second.params.tobytes()


def test_metrics_count_every_part_s_rows(split_in):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((100, 3)), rng.integers(0, 2, 100)

    def fit():
        model = fn.Sequential([fn.Dense(5, activation="relu"), fn.Dense(1, activation="sigmoid")],
                              input_dim=3, seed=1, dtype="float64")
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mae"])
        return model.fit(X, y, epochs=2, batch_size=50).history

    threads.set_num_threads(1)
    expected = fit()
    split_in(2)
    history = fit()
    np.testing.assert_allclose(history["accuracy"], expected["accuracy"], rtol=1e-12)
    np.testing.assert_allclose(history["mae"], expected["mae"], rtol=1e-9)


# (what cannot be split, model, batch size, fit arguments)
UNSPLIT = [
    ("batches too small for the parts", lambda: _plain_model(), row_split.MIN_PART_ROWS, {}),
]


def _plain_model():
    model = fn.Sequential([fn.Dense(8, activation="relu"), fn.Dense(1)], input_dim=4, seed=2)
    model.compile(loss="mse")
    return model


@pytest.mark.parametrize("name, make, batch_size, fit_args", UNSPLIT,
                         ids=[c[0] for c in UNSPLIT])
def test_fits_that_cannot_be_split_run_as_configured(name, make, batch_size, fit_args,
                                                     split_in):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((96, 4)), rng.standard_normal(96)
    threads.set_num_threads(None)
    expected = make()
    expected.fit(X, y, epochs=2, batch_size=batch_size, **fit_args)
    split_in(2)
    model = make()
    model.fit(X, y, epochs=2, batch_size=batch_size, **fit_args)
    assert split_in.made == []
    assert model.params.tobytes() == expected.params.tobytes()


def test_a_split_that_would_not_fit_in_memory_runs_as_configured(monkeypatch, split_in):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((96, 4)), rng.standard_normal(96)
    threads.set_num_threads(None)
    expected = _plain_model()
    expected.fit(X, y, epochs=2, batch_size=32)
    model = _plain_model()
    need = row_split.extra_bytes(model, 32, 2)
    monkeypatch.setattr(memory, "available_memory", lambda: need)  # a quarter is kept spare
    split_in(2)
    model.fit(X, y, epochs=2, batch_size=32)
    assert split_in.made == []
    assert model.params.tobytes() == expected.params.tobytes()


def test_the_other_parts_stop_when_part_0_fails_before_it_runs(monkeypatch, split_in):
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((256, 4)), rng.standard_normal(256)
    model = _plain_model()
    split_in(2)
    model.fit(X, y, epochs=1, batch_size=32)  # compiled: the failure below is part 0's own
    callers = []
    real = row_split.train_batches_part

    def failing(data, first, stop, *args):
        callers.append(threading.current_thread())
        if callers[-1] is threading.main_thread() and first != stop:
            raise KeyboardInterrupt
        return real(data, first, stop, *args)

    monkeypatch.setattr(row_split, "train_batches_part", failing)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=1, batch_size=32)
    (other,) = [t for t in callers if t is not threading.main_thread()]
    assert len(callers) == 3 and not other.is_alive()  # it stopped at its first barrier


# (batch size, parts, gradient diagnostics, "auto" asking, split?)
SPLITS = [
    (64, 2, False, False, True),
    (64, 2, True, False, False),      # gradient diagnostics
    (64, 1, False, False, False),     # one part
    (15, 2, False, False, False),     # fewer than MIN_PART_ROWS rows a part
    (64, 2, False, True, False),      # too few rows a part for "auto" to weigh the split
    (128, 2, False, True, True),
]


@pytest.mark.parametrize("batch, parts, monitoring, gainful, expected", SPLITS)
def test_which_fits_split(batch, parts, monitoring, gainful, expected):
    assert row_split.splits(batch, parts, monitoring, gainful) is expected


def test_a_diverging_epoch_stops_at_the_same_batch(split_in):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((256, 4)) * 10
    Y = (X @ rng.standard_normal((4, 1))) * 1e3

    def epoch():
        model = fn.Sequential([fn.Dense(16), fn.Dense(1)], input_dim=4, seed=0,
                              dtype="float64")
        model.compile(optimizer=fn.SGD(learning_rate=1.0), loss="mse")
        trainer = CpuTrainer(model, X, Y, None, 32)
        assert not trainer.run_epoch(shuffle=False)
        return trainer.stats.copy(), model.iterations

    threads.set_num_threads(1)
    expected_stats, expected_updates = epoch()
    split_in(2)
    stats, updates = epoch()
    assert split_in.made == [2]
    assert 0 < updates == expected_updates < 256 // 32
    assert stats[STAT_NONFINITE] == 1.0
    np.testing.assert_allclose(stats, expected_stats, rtol=1e-9)


def test_auto_measures_the_split_among_its_choices(monkeypatch, split_in):
    monkeypatch.setattr(threads, "configured_threads", lambda: 2)
    monkeypatch.setattr(threads, "_choices", {})
    threads.set_num_threads(threads.AUTO)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((8192 * 5, 64))
    model = fn.Sequential([fn.Dense(300, activation="relu"), fn.Dense(1)], input_dim=64)
    model.compile(loss="mse")
    model.fit(X, X[:, 0], epochs=1, batch_size=256)
    (choice,) = threads._choices.values()
    assert set(choice.seconds) == {1, threads.ROWS}
    assert split_in.made == [2]
