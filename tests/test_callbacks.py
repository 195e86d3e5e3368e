"""Callbacks: early stopping, checkpoints, learning-rate changes, CSV logs, divergence, Ctrl-C."""

import csv
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastnn as fn
import fastnn.trainer


def _regression(seed=3, n=24):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ np.array([1.0, -1.0, 0.5]) + 0.5 * rng.standard_normal(n)
    Xv = rng.standard_normal((16, 3))
    return X, y, Xv, Xv @ np.array([1.0, -1.0, 0.5])


def _model(lr=0.05, seed=0):
    model = fn.Sequential([fn.Dense(32, activation="tanh"), fn.Dense(1)], input_dim=3, seed=seed)
    model.compile(optimizer=fn.SGD(lr), loss="mse")
    return model


class Inject(fn.Callback):
    """Replaces a logged value by a crafted sequence (runs before the callbacks after it)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class KeepWeights(fn.Callback):
    """Keeps a copy of the parameters, optimizer state and update count at each epoch's end."""

    def on_train_begin(self, logs=None):
        self.params, self.opt_state, self.iterations = [], [], []

    def on_epoch_end(self, epoch, logs=None):
        self.params.append(self.model.params.copy())
        self.opt_state.append(self.model.training_state.optimizer_state.copy())
        self.iterations.append(self.model.iterations)


@pytest.mark.parametrize("values, kwargs, stopped, best", [
    ([5, 4, 3, 3.5, 3.2, 3.1, 2.0, 1.0], dict(patience=3), 5, 2),
    ([5, 4, 3, 3.5, 3.2, 3.1, 2.0, 1.0], dict(patience=4), None, 7),
    ([5, 4.9, 4.8, 4.7, 4.6, 4.5, 4.4, 4.3], dict(patience=2, min_delta=0.25), 2, 0),
    ([0.5, 0.6, 0.7, 0.65, 0.69, 0.7, 0.8, 0.9], dict(patience=2, monitor="val_accuracy"), 4, 2),
    ([1, 2, 3, 4, 5, 6, 7, 8], dict(patience=1, mode="max"), None, 7),
    ([1, 1, 1, 1, 1, 1, 1, 1], dict(patience=0), 1, 0),
    ([3, 2, math.nan, math.nan, 1, 0, 0, 0], dict(patience=2), 3, 1),
])
def test_early_stopping_on_a_crafted_sequence(values, kwargs, stopped, best):
    X, y, Xv, yv = _regression()
    y_cls, yv_cls = (y > 0).astype(float), (yv > 0).astype(float)
    model = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=3, seed=0)
    model.compile(optimizer=fn.SGD(0.1), loss="bce", metrics=["accuracy"])
    key = kwargs.get("monitor", "val_loss")
    early, kept = fn.EarlyStopping(**kwargs), KeepWeights()
    history = model.fit(X, y_cls, epochs=len(values), batch_size=8,
                        validation_data=(Xv, yv_cls),
                        callbacks=[Inject(key, values), kept, early])
    assert early.stopped_epoch == stopped and early.best_epoch == best
    assert len(history.epoch) == (len(values) if stopped is None else stopped + 1)
    assert history.stop_reason == (None if stopped is None else "callback")
    np.testing.assert_array_equal(model.params, kept.params[best])


def test_early_stopping_restores_the_best_weights_of_a_real_run():
    X, y, Xv, yv = _regression()
    model = _model()
    early = fn.EarlyStopping(patience=3)
    history = model.fit(X, y, epochs=300, batch_size=4, validation_data=(Xv, yv),
                        callbacks=[early])
    val = history.history["val_loss"]
    assert early.stopped_epoch == len(val) - 1 < 299
    assert val[-1] > min(val)
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(min(val), rel=1e-6)


def test_early_stopping_without_restoring_keeps_the_last_weights():
    X, y, Xv, yv = _regression()
    model = _model()
    history = model.fit(X, y, epochs=300, batch_size=4, validation_data=(Xv, yv),
                        callbacks=[fn.EarlyStopping(patience=3, restore_best_weights=False)])
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(history.history["val_loss"][-1],
                                                           rel=1e-6)


def test_model_checkpoint_saves_the_best_epochs(tmp_path):
    X, y, Xv, yv = _regression()
    model = _model()
    values = [3.0, 2.0, 2.5, 1.0, 1.5]
    checkpoint, kept = fn.ModelCheckpoint(tmp_path / "best.fnn"), KeepWeights()
    model.fit(X, y, epochs=5, batch_size=4, validation_data=(Xv, yv),
              callbacks=[Inject("val_loss", values), kept, checkpoint])
    assert checkpoint.saved == [str(tmp_path / "best.fnn")] * 3
    saved = fn.load_model(tmp_path / "best.fnn")
    np.testing.assert_array_equal(saved.params, kept.params[3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.fnn"]


def test_model_checkpoint_every_epoch_with_a_formatted_name(tmp_path):
    X, y, _, _ = _regression()
    model = _model()
    checkpoint = fn.ModelCheckpoint(tmp_path / "m-{epoch:02d}-{loss:.2f}.fnn",
                                    save_best_only=False)
    history = model.fit(X, y, epochs=3, batch_size=4, callbacks=[checkpoint])
    expected = [f"m-{e + 1:02d}-{loss:.2f}.fnn" for e, loss in enumerate(history.history["loss"])]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    np.testing.assert_array_equal(fn.load_model(tmp_path / expected[-1]).params, model.params)


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    X, y, Xv, yv = _regression()
    model = _model()
    model.compile(optimizer=fn.SGD(0.05), loss="mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    history = model.fit(X, y, epochs=3, batch_size=4, validation_data=(Xv, yv),
                        callbacks=[fn.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae", "lr", "time"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == values
    model.fit(X, y, epochs=2, batch_size=4, validation_data=(Xv, yv),
              callbacks=[fn.CSVLogger(path, append=True)])
    with open(path, newline="") as f:
        assert [r["epoch"] for r in csv.DictReader(f)] == ["0", "1", "2", "0", "1"]


def test_reduce_lr_on_plateau_lowers_the_rate():
    X, y, _, _ = _regression()
    model = _model(lr=0.04)
    plateau = fn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2)
    history = model.fit(X, y, epochs=8, batch_size=4,
                        callbacks=[Inject("loss", [1.0] * 8), plateau])
    # no improvement after epoch 0: the rate halves after epochs 2, 4 and 6 (0-based) and
    # the new rate is the one the next epoch's updates use
    assert history.history["lr"] == pytest.approx([0.04] * 3 + [0.02] * 2 + [0.01] * 2
                                                  + [0.005])
    assert model.optimizer.learning_rate == pytest.approx(0.005)


def test_reduce_lr_on_plateau_respects_cooldown_and_min_lr():
    X, y, _, _ = _regression()
    model = _model(lr=0.04)
    plateau = fn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2,
                                   min_lr=0.015)
    history = model.fit(X, y, epochs=8, batch_size=4,
                        callbacks=[Inject("loss", [1.0] * 8), plateau])
    assert history.history["lr"] == pytest.approx([0.04] * 2 + [0.02] * 2 + [0.015] * 4)


@pytest.mark.parametrize("schedule", [
    lambda epoch: 0.1 / (1 + epoch),
    lambda epoch, lr: 0.1 if epoch == 0 else lr / (1 + epoch) * epoch,
])
def test_learning_rate_scheduler(schedule):
    X, y, _, _ = _regression()
    model = _model()
    history = model.fit(X, y, epochs=4, batch_size=4,
                        callbacks=[fn.LearningRateScheduler(schedule)])
    assert history.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])


@pytest.mark.parametrize("make", [
    lambda: fn.ReduceLROnPlateau(monitor="loss"),
    lambda: fn.LearningRateScheduler(lambda epoch: 0.1),
])
def test_rate_callbacks_refuse_an_optimizer_with_a_schedule(make):
    X, y, _, _ = _regression()
    model = _model()
    model.compile(optimizer=fn.SGD(fn.schedules.ExponentialDecay(0.1, 0.5)), loss="mse")
    with pytest.raises(ValueError, match="plain numeric learning_rate.*ExponentialDecay"):
        model.fit(X, y, epochs=2, callbacks=[make()])


def test_a_callback_can_stop_training():
    class StopAtTwo(fn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    X, y, _, _ = _regression()
    history = _model().fit(X, y, epochs=10, callbacks=[StopAtTwo()])
    assert history.epoch == [0, 1] and history.stop_reason == "callback"


@pytest.mark.parametrize("make, match", [
    (lambda: fn.EarlyStopping(), "val_loss.*loss, lr, time.*validation_split"),
    (lambda: fn.EarlyStopping(monitor="accuracy"), "'accuracy'.*loss, lr, time"),
    (lambda: fn.ModelCheckpoint("m.fnn"), "val_loss.*loss, lr, time"),
    (lambda: fn.ReduceLROnPlateau(monitor="val_mae"), "val_mae"),
])
def test_a_monitor_that_is_not_logged_is_an_error_before_training(make, match):
    X, y, _, _ = _regression()
    model = _model()
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, epochs=2, callbacks=[make()])
    assert model.iterations == 0


@pytest.mark.parametrize("make, match", [
    (lambda: fn.EarlyStopping(patience=-1), "patience"),
    (lambda: fn.EarlyStopping(mode="best"), "mode"),
    (lambda: fn.EarlyStopping(min_delta=-0.1), "min_delta"),
    (lambda: fn.ReduceLROnPlateau(factor=1.0), "factor"),
    (lambda: fn.ReduceLROnPlateau(cooldown=-1), "cooldown"),
    (lambda: fn.ReduceLROnPlateau(min_lr=-1), "min_lr"),
    (lambda: fn.LearningRateScheduler(0.1), "function"),
    (lambda: _model().fit(np.ones((4, 3)), np.ones(4), callbacks=[
        fn.ModelCheckpoint("m-{val_acc}.fnn", save_best_only=False)]), "val_acc.*loss, lr"),
    (lambda: _model().fit(np.ones((4, 3)), np.ones(4), callbacks=["stop"]), "Callback"),
    (lambda: _model().fit(np.ones((4, 3)), np.ones(4),
                          callbacks=[fn.LearningRateScheduler(lambda e: -1.0)]), "positive"),
])
def test_bad_callback_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ----------------------------------------------------------------------- divergence
def _rising_rate(epoch):
    return 0.01 if epoch < 3 else 1e3


def test_terminate_on_nan_stops_and_keeps_finite_weights():
    X, y, _, _ = _regression()
    model = _model(lr=1e3)
    initial = model.params.copy()
    with pytest.warns(RuntimeWarning, match="epoch 1: the loss became NaN.*initial weights"):
        history = model.fit(X, y, epochs=5, batch_size=4, callbacks=[fn.TerminateOnNaN()])
    assert history.stop_reason == "diverged" and len(history.epoch) == 1
    assert math.isnan(history.history["loss"][0])
    np.testing.assert_array_equal(model.params, initial)
    assert np.all(np.isfinite(model.predict(X)))


def test_terminate_on_nan_keeps_the_last_good_epoch():
    X, y, _, _ = _regression()
    model = _model()
    kept = KeepWeights()
    with pytest.warns(RuntimeWarning, match="end of epoch 3 were restored"):
        history = model.fit(X, y, epochs=10, batch_size=4,
                            callbacks=[fn.LearningRateScheduler(_rising_rate), kept,
                                       fn.TerminateOnNaN()])
    assert len(history.epoch) == 4 and np.all(np.isfinite(history.history["loss"][:3]))
    np.testing.assert_array_equal(model.params, kept.params[2])
    assert np.all(np.isfinite(model.predict(X)))


def test_divergence_with_early_stopping_keeps_the_best_weights():
    X, y, Xv, yv = _regression()
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(X, y, epochs=10, batch_size=4, validation_data=(Xv, yv),
                            callbacks=[fn.LearningRateScheduler(_rising_rate),
                                       fn.EarlyStopping(patience=5), fn.TerminateOnNaN()])
    val = history.history["val_loss"]
    assert math.isnan(val[-1])
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(np.nanmin(val), rel=1e-6)


def test_divergence_without_terminate_on_nan_raises_after_restoring():
    X, y, _, _ = _regression()
    model = _model()
    model.compile(optimizer=fn.SGD(0.01, momentum=0.9), loss="mse")
    kept = KeepWeights()
    with pytest.raises(FloatingPointError, match="epoch 4.*end of epoch 3.*TerminateOnNaN"):
        model.fit(X, y, epochs=10, batch_size=4,
                  callbacks=[fn.LearningRateScheduler(_rising_rate), kept])
    assert model.history.stop_reason == "diverged" and len(model.history.epoch) == 4
    np.testing.assert_array_equal(model.params, kept.params[2])
    # the optimizer's velocity and update count go back with the weights
    np.testing.assert_array_equal(model.training_state.optimizer_state, kept.opt_state[2])
    assert model.iterations == kept.iterations[2] == 18


# ----------------------------------------------------------------------- interrupts
class Interrupt:
    """A progress hook that raises KeyboardInterrupt at the given (epoch, call)."""

    def __init__(self, epoch, call):
        self.at, self.calls = (epoch, call), {}

    def __call__(self, epoch, done, total):
        self.calls[epoch] = self.calls.get(epoch, 0) + 1
        if (epoch, self.calls[epoch]) == self.at:
            raise KeyboardInterrupt


def test_keyboard_interrupt_between_chunks_leaves_a_usable_model(monkeypatch, tmp_path):
    monkeypatch.setattr(fastnn.trainer, "CHUNK_ROWS", 8)  # 2 batches of 4 per compiled call
    X, y, _, _ = _regression()
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=5, batch_size=4, progress=Interrupt(2, 2),
                  callbacks=[fn.CSVLogger(tmp_path / "log.csv")])
    # 2 epochs of 6 batches, then 2 chunks of 2 batches of the third epoch
    assert model.iterations == 2 * 6 + 4
    assert model.history.stop_reason == "interrupted" and model.history.epoch == [0, 1]
    assert np.all(np.isfinite(model.predict(X)))
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3


def test_keyboard_interrupt_restores_early_stopping_best_weights():
    X, y, Xv, yv = _regression()
    model = _model()
    kept = KeepWeights()
    early = fn.EarlyStopping(patience=50)

    class InterruptAt(fn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 7:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=20, batch_size=4, validation_data=(Xv, yv),
                  callbacks=[kept, early, InterruptAt()])
    val = model.history.history["val_loss"]
    assert len(val) == 8 and early.best_epoch == int(np.argmin(val)) < 7
    np.testing.assert_array_equal(model.params, kept.params[early.best_epoch])


CTRL_C_SCRIPT = """
import faulthandler, signal, sys
import numpy as np
import fastnn as fn

faulthandler.dump_traceback_later(90, exit=True)  # a hang shows where, in the test's failure
# Ctrl-C as in a fresh terminal, whatever signal state the test process passed on
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
signal.signal(signal.SIGINT, signal.default_int_handler)


class SayWhenTraining(fn.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            print("training", flush=True)


rng = np.random.default_rng(0)
X = rng.standard_normal((256, 4))
y = X @ np.array([1.0, -1.0, 0.5, 2.0])
model = fn.Sequential([fn.Dense(16, activation="tanh"), fn.Dense(1)], input_dim=4, seed=0)
model.compile(optimizer=fn.SGD(0.01), loss="mse")
try:
    model.fit(X, y, epochs=10 ** 7, batch_size=1, validation_split=0.25,
              callbacks=[fn.EarlyStopping(patience=10 ** 7), SayWhenTraining()])
except KeyboardInterrupt:
    finite = bool(np.all(np.isfinite(model.predict(X))))
    print(model.history.stop_reason, len(model.history.epoch) > 0, finite)
    sys.exit(130)
print("not interrupted")
"""


def test_a_real_ctrl_c_stops_fit_and_the_caller_can_exit_130():
    """SIGINT from outside the process, as a terminal sends Ctrl-C, once the first epoch is
    done."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    child = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = child.stdout.readline()
        if ready == "training\n":
            time.sleep(0.2)
            child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert ready == "training\n", err
    assert child.returncode == 130, err
    assert out.split() == ["interrupted", "True", "True"]


def test_a_non_finite_val_loss_counts_as_divergence():
    X, y, Xv, yv = _regression()
    model = fn.Sequential([fn.Dense(1)], input_dim=3, seed=0)
    model.compile(optimizer=fn.SGD(0.05), loss="mse")
    Xv = np.full_like(Xv, 3e38)  # finite in float32, but the linear output overflows
    with pytest.warns(RuntimeWarning, match="epoch 1.*initial weights"):
        history = model.fit(X, y, epochs=3, batch_size=4, validation_data=(Xv, yv),
                            callbacks=[fn.TerminateOnNaN()])
    assert math.isfinite(history.history["loss"][0])
    assert not math.isfinite(history.history["val_loss"][0])
    assert model.iterations == 0 and history.stop_reason == "diverged"
