"""Callbacks: objects fit calls between epochs, with Keras's names, arguments and meaning.

fit calls, in order: ``set_model`` and ``set_params`` once, ``on_train_begin``, then per epoch
``on_epoch_begin(epoch)`` and ``on_epoch_end(epoch, logs)``, and ``on_train_end`` last (also after
a divergence or a KeyboardInterrupt). ``epoch`` is 0-based. ``logs`` holds the epoch's values:
"loss", each metric, their "val_" twins, "lr" and "time". A callback stops training by setting
``self.model.stop_training = True``; fit stops after the epoch's callbacks have run. There are no
per-batch hooks: batches run in compiled code.
"""

import csv
import inspect
import math
import numbers
import os

import numpy as np

from .checks import choice, function, instance, non_negative_int, number


class Callback:
    """Base class: every hook does nothing. ``self.model`` is the model being trained and
    ``self.params`` a dict of the run: epochs, batch_size, steps (batches per epoch) and
    metrics (the keys the logs will hold)."""

    # True for callbacks that read per-layer gradient statistics (fit then records them in the
    # compiled loop and calls on_layer_stats before on_epoch_end).
    needs_layer_stats = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_layer_stats(self, epoch, values):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class CallbackList:
    """The callbacks of one fit, called in the order given."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        self.begun = []
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    @property
    def needs_layer_stats(self):
        return any(cb.needs_layer_stats for cb in self.callbacks)

    def on_train_begin(self):
        """Each callback's on_train_begin; when one raises, those that began end (their
        on_train_end runs) and the error propagates."""
        for cb in self.callbacks:
            try:
                cb.on_train_begin({})
            except BaseException as exc:
                try:
                    self.on_train_end({})
                except Exception as also:
                    exc.add_note(f"a callback's on_train_end failed too: {also!r}")
                raise
            self.begun.append(cb)

    def on_epoch_begin(self, epoch):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, {})

    def on_epoch_end(self, epoch, logs, layer_values=None):
        for cb in self.callbacks:
            if cb.needs_layer_stats:
                cb.on_layer_stats(epoch, layer_values)
            cb.on_epoch_end(epoch, logs)

    def on_train_end(self, logs):
        """Every begun callback's on_train_end, even when one raises; then the first error
        raised propagates."""
        first_error = None
        for cb in self.begun:
            try:
                cb.on_train_end(logs)
            except Exception as exc:
                first_error = first_error or exc
        self.begun = []
        if first_error is not None:
            raise first_error


def check_callbacks(callbacks):
    """The callbacks argument of fit as a list; ValueError for anything but Callback objects."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    return [instance("each callback", cb, Callback) for cb in callbacks]


def diverged(logs):
    """True when the epoch's loss or validation loss is NaN or infinite."""
    return not (math.isfinite(logs.get("loss", 0.0)) and math.isfinite(logs.get("val_loss", 0.0)))


# ----------------------------------------------------------------------- monitored values
class Monitor:
    """A logged value watched for improvement.

    ``mode`` "min", "max" or "auto" (max for accuracy and r2, min otherwise). ``current``
    improves on ``best`` when current < best - min_delta (min) or current > best + min_delta
    (max); NaN never improves.
    """

    def __init__(self, owner, monitor, mode="auto", min_delta=0.0):
        mode = choice(f"{owner} mode", mode, ("auto", "min", "max"))
        min_delta = number(f"{owner}: min_delta", min_delta, low=0.0)
        if mode == "auto":
            name = monitor.lower()
            mode = "max" if "acc" in name or name.endswith("r2") else "min"
        self.owner, self.name, self.mode, self.min_delta = owner, monitor, mode, min_delta

    def worst(self):
        return math.inf if self.mode == "min" else -math.inf

    def improved(self, current, best):
        if self.mode == "min":
            return current < best - self.min_delta
        return current > best + self.min_delta

    def check_available(self, params):
        """ValueError naming the available keys when the monitored value will not be logged."""
        keys = params.get("metrics")
        if keys is not None and self.name not in keys:
            hint = ("; pass validation_data= or validation_split= to fit to get val_ values"
                    if self.name.startswith("val_") else "")
            raise ValueError(f"{self.owner} monitors {self.name!r}, which fit does not log; "
                             f"the logged values are: {', '.join(keys)}{hint}")

    def value(self, logs):
        return float(logs[self.name])


def weights_of(model):
    """Copies of the model's parameters and non-trainable state."""
    return model.params.copy(), model.state.copy()


def set_weights_of(model, weights):
    model.params[...] = weights[0]
    model.state[...] = weights[1]


# ----------------------------------------------------------------------- the callbacks
class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs in a row.

    With ``restore_best_weights`` (default) the weights of the best epoch are put back when
    training ends, however it ends (patience ran out, the epochs ran out, divergence or
    KeyboardInterrupt). ``stopped_epoch`` is the 0-based epoch it stopped at (None if it did
    not), ``best`` the best value and ``best_epoch`` its epoch.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True, verbose=0):
        super().__init__()
        self.patience = non_negative_int("EarlyStopping: patience", patience)
        self.monitor = Monitor("EarlyStopping", monitor, mode, min_delta)
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.monitor.check_available(self.params)
        self.wait = 0
        self.best = self.monitor.worst()
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitor.value(logs)
        if self.monitor.improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = weights_of(self.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor.name} has not improved "
                      f"for {self.wait} epochs)")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            set_weights_of(self.model, self.best_weights)
            if self.verbose:
                print(f"Restoring the weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor.name} = {self.best:.4f})")


class ModelCheckpoint(Callback):
    """Save the model with ``model.save`` after an epoch: only when ``monitor`` improved
    (``save_best_only``, default) or after every epoch. ``filepath`` may hold format fields
    filled from the epoch (1-based) and the logs, e.g. "model-{epoch:02d}-{val_loss:.3f}.fnn".
    Writes are atomic (see fastnn.model_file). ``saved`` lists the paths written."""

    def __init__(self, filepath, monitor="val_loss", save_best_only=True, mode="auto",
                 include_optimizer=True, verbose=0):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = Monitor("ModelCheckpoint", monitor, mode)
        self.save_best_only = save_best_only
        self.include_optimizer = include_optimizer
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        if self.save_best_only:
            self.monitor.check_available(self.params)
        keys = self.params.get("metrics") or []
        try:
            self.filepath.format(epoch=1, **{k: 0.0 for k in keys})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot fill the file name {self.filepath!r} "
                             f"({exc!r}); it may use {{epoch}} and the logged values: "
                             f"{', '.join(keys)}") from None
        self.best = self.monitor.worst()
        self.saved = []

    def on_epoch_end(self, epoch, logs=None):
        if self.save_best_only:
            current = self.monitor.value(logs)
            if not self.monitor.improved(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path, include_optimizer=self.include_optimizer)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")


class TerminateOnNaN(Callback):
    """Stop training at the first epoch whose loss (or val_loss) is NaN or infinite.

    fit has then already put back the last good weights (those of the last epoch that ended
    with finite values, or the initial ones); EarlyStopping, if it runs, restores its best ones.
    Without this callback the same divergence makes fit raise FloatingPointError (after the
    same restoring); with it fit warns (RuntimeWarning) and returns the history."""

    def on_epoch_end(self, epoch, logs=None):
        if diverged(logs):
            self.model.stop_training = True


def _learning_rate(model, owner):
    """The optimizer's rate; ValueError when it is a schedule (the two would fight)."""
    lr = model.optimizer.learning_rate
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise ValueError(f"{owner} needs an optimizer with a plain numeric learning_rate, "
                         f"got the schedule {lr!r}; use one or the other")
    return float(lr)


def _set_learning_rate(model, lr, owner):
    model.optimizer.learning_rate = number(f"{owner}: the learning rate", lr, low=0.0,
                                           low_open=True)


class ReduceLROnPlateau(Callback):
    """Multiply the optimizer's learning rate by ``factor`` when ``monitor`` has not improved
    (by more than ``min_delta``) for ``patience`` epochs; then wait ``cooldown`` epochs before
    counting again; never go below ``min_lr``. The new rate applies from the next epoch."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=0):
        super().__init__()
        self.factor = number("ReduceLROnPlateau: factor", factor, low=0.0, high=1.0,
                             low_open=True, high_open=True)
        self.patience = non_negative_int("ReduceLROnPlateau: patience", patience)
        self.cooldown = non_negative_int("ReduceLROnPlateau: cooldown", cooldown)
        self.min_lr = number("ReduceLROnPlateau: min_lr", min_lr, low=0.0)
        self.monitor = Monitor("ReduceLROnPlateau", monitor, mode, min_delta)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self.monitor.check_available(self.params)
        _learning_rate(self.model, "ReduceLROnPlateau")
        self.best = self.monitor.worst()
        self.wait = 0
        self.cooldown_left = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self.monitor.value(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.monitor.improved(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = _learning_rate(self.model, "ReduceLROnPlateau")
        new = max(old * self.factor, self.min_lr)
        if new < old:
            _set_learning_rate(self.model, new, "ReduceLROnPlateau")
            if self.verbose:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau lowers the learning rate to {new:.4g}")
        self.cooldown_left = self.cooldown
        self.wait = 0


class LearningRateScheduler(Callback):
    """Set the learning rate before each epoch to ``schedule(epoch)`` or, when the function
    takes two arguments, ``schedule(epoch, current_rate)`` (epoch 0-based)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = function("LearningRateScheduler: schedule", schedule)
        self.verbose = verbose
        self._with_rate = _positional_arity(schedule) >= 2

    def on_train_begin(self, logs=None):
        _learning_rate(self.model, "LearningRateScheduler")

    def on_epoch_begin(self, epoch, logs=None):
        if self._with_rate:
            lr = self.schedule(epoch, _learning_rate(self.model, "LearningRateScheduler"))
        else:
            lr = self.schedule(epoch)
        _set_learning_rate(self.model, lr, "LearningRateScheduler")
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler sets the learning rate to {lr:.4g}")


def _positional_arity(fn):
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in kinds for p in parameters)


class CSVLogger(Callback):
    """Write one row per epoch to ``filename``: "epoch" (0-based) then the logs in their order.
    ``append`` adds to an existing file (its header is kept). Each row is flushed as it is
    written, so a crash or an interrupt leaves the epochs done on disk."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None

    def on_train_begin(self, logs=None):
        has_rows = (self.append and os.path.isfile(self.filename)
                    and os.path.getsize(self.filename) > 0)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self._header_written = has_rows

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self._keys = list(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_written:
                self._writer.writerow(["epoch"] + self._keys)
        self._writer.writerow([epoch] + [_csv_value(logs.get(k, "")) for k in self._keys])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(value):
    return repr(float(value)) if isinstance(value, (numbers.Real, np.floating)) else value


class EpochLogger(Callback):
    """What ``verbose=1`` prints: one line per epoch, as Keras's one-line-per-epoch mode:
    ``Epoch 3/20 - 0.05s - loss: 0.4321 - accuracy: 0.8800 - val_loss: ... - lr: 0.01``."""

    def __init__(self, print_fn=print):
        super().__init__()
        self.print_fn = print_fn

    def on_epoch_end(self, epoch, logs=None):
        parts = [f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}",
                 f"{logs.get('time', 0.0):.2f}s"]
        for key, value in logs.items():
            if key == "time":
                continue
            parts.append(f"{key}: {value:.4g}" if key == "lr" else f"{key}: {value:.4f}")
        self.print_fn(" - ".join(parts))
