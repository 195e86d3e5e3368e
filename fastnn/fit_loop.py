"""The epoch loop of ``Sequential.fit``: validation, callbacks, divergence and interrupts.

Per epoch: callbacks' on_epoch_begin; the epoch's batches in compiled code (fastnn.trainer), in
chunks with ``progress`` called between them; the training values; the validation values (one
compiled inference pass over the validation rows); the wall time; history; on_epoch_end.

Divergence. An epoch diverges when its loss becomes NaN or infinite (the compiled loop stops at
that batch and skips its update), when its weights (or state) end non-finite, or when its
val_loss is NaN or infinite. fit then puts back the last good weights (those at the end of the
last epoch that did not diverge, or the initial ones), with their optimizer state, logs the
epoch with loss NaN (and val_ values NaN) and runs its callbacks. If one of them asked to stop
(TerminateOnNaN does) fit warns and returns; otherwise it runs on_train_end and raises
FloatingPointError. Either way fit never returns a model full of NaN, and EarlyStopping
restores its best weights at the end.

Interrupts. A KeyboardInterrupt (Ctrl-C) is seen between compiled chunks or in Python code
between them; fit then keeps the batches completed (or the last good weights if those are not
finite), runs on_train_end (EarlyStopping restores its best weights, CSVLogger closes its
file), sets ``history.stop_reason = "interrupted"`` and raises the KeyboardInterrupt again.

Errors. on_train_end runs on every way out of fit: when a callback (or anything else) raises,
every callback that began gets its on_train_end, then the error propagates.
"""

import math
import time
import warnings

from . import callbacks as callbacks_mod
from .history import History
from .kernels.inference import all_finite
from .trainer import ModelSnapshot


def split_validation(X, Y, W, validation_data, validation_split, check):
    """(X_train, Y_train, W_train, (X_val, Y_val, W_val) or None); ``W`` the per-row weights or
    None, ``check(X, y, sample_weight)`` the model's check of given validation data.
    ``validation_split`` keeps the first floor(n (1 - split)) rows for training and validates
    on the rest, before any shuffling, as Keras does."""
    if validation_data is not None and validation_split:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a pair (X_val, y_val) or a triple "
                             "(X_val, y_val, sample_weight_val)")
        return X, Y, W, check(*validation_data)
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be a number in [0, 1), got {validation_split!r}")
    if not validation_split:
        return X, Y, W, None
    n = X.shape[0]
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at < 1:
        raise ValueError(f"validation_split={validation_split} of {n} rows leaves no row for "
                         "training")
    head, tail = (None, None) if W is None else (W[:split_at], W[split_at:])
    return X[:split_at], Y[:split_at], head, (X[split_at:], Y[split_at:], tail)


def log_keys(model, validation):
    """The keys every epoch's logs hold, in order."""
    keys = ["loss"] + list(model.metrics)
    if validation is not None:
        keys += ["val_" + k for k in ["loss"] + list(model.metrics)]
    return keys + ["lr", "time"]


def run_fit(model, trainer, epochs, shuffle, validation, callbacks, progress, score):
    """Train for ``epochs`` epochs; return the History (see the module docstring).
    ``score(X, Y, W)`` gives the validation values of the current weights."""
    history = History()
    model.history = history
    model.stop_training = False
    keys = log_keys(model, validation)
    cbs = callbacks_mod.CallbackList(
        callbacks, model, {"epochs": epochs, "batch_size": trainer.batch_size,
                           "steps": trainer.n_batches, "metrics": keys})
    good = ModelSnapshot(model)
    good_epoch = None
    failure = None
    cbs.on_train_begin()
    try:
        for epoch in range(epochs):
            cbs.on_epoch_begin(epoch)
            started = time.perf_counter()
            chunk_progress = None if progress is None else (
                lambda done, total, e=epoch: progress(e, done, total))
            finished = trainer.run_epoch(shuffle, chunk_progress)
            layer_values = trainer.layer_values() if cbs.needs_layer_stats else None
            logs = trainer.epoch_values()
            if not finished or not _finite_weights(model):
                logs = {k: (v if k == "lr" else math.nan) for k, v in logs.items()}
            if validation is not None:
                logs.update(_validation_logs(model, validation, logs, score))
            logs["time"] = time.perf_counter() - started
            logs = {k: logs[k] for k in keys}
            diverged = callbacks_mod.diverged(logs)
            if diverged:
                good.restore(model)
            else:
                good.take(model)
                good_epoch = epoch
            history.record(epoch, logs)
            cbs.on_epoch_end(epoch, logs, layer_values)
            if diverged:
                message = _divergence_message(epoch, good_epoch)
                if not model.stop_training:
                    failure = FloatingPointError(
                        message + "; pass callbacks=[fastnn.TerminateOnNaN()] to stop without "
                                  "an error")
                    failure.history = history
                    history.stop_reason = "diverged"
                    break
                warnings.warn(message, RuntimeWarning, stacklevel=3)
                history.stop_reason = "diverged"
                break
            if model.stop_training:
                history.stop_reason = "callback"
                break
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            history.stop_reason = "interrupted"
            if not _finite_weights(model):
                good.restore(model)
        try:
            cbs.on_train_end({})
        except Exception as also:
            exc.add_note(f"a callback's on_train_end failed too: {also!r}")
        raise
    cbs.on_train_end({})
    if failure is not None:
        raise failure
    return history


def _finite_weights(model):
    return bool(all_finite(model.params.reshape(1, -1))
                and all_finite(model.state.reshape(1, -1)))


def _validation_logs(model, validation, logs, score):
    if not math.isfinite(logs["loss"]):
        return {"val_" + k: math.nan for k in ["loss"] + list(model.metrics)}
    scores = score(*validation)
    return {"val_" + k: v for k, v in scores.items()}


def _divergence_message(epoch, good_epoch):
    kept = ("the initial weights were restored" if good_epoch is None
            else f"the weights from the end of epoch {good_epoch + 1} were restored")
    return (f"epoch {epoch + 1}: the loss became NaN or infinite (too high a learning rate, or "
            f"unscaled inputs?); training stopped and {kept}")
