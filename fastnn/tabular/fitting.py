"""The steps of ``TabularModel.fit`` that are more than a call: the target column, the
hold-out split, the row weights, the callbacks and how a run ended.

The hold-out split is fastnn.model_selection.make_splits (seeded by the ``seed`` option,
stratified by class for classification), the one ``fastnn sweep`` uses, so a model and a sweep
with the same seed validate on the same rows.
"""

import logging
from typing import NamedTuple

import numpy as np

from .columns import numeric_values, row_label
from .options import OptionError

log = logging.getLogger("fastnn")


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite in the first epoch: no model worth keeping."""


def drop_columns(frame, names):
    """The frame without the columns ``names``; ValueError for a name that is not a column."""
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise OptionError("drop", f"{{option}} {', '.join(map(repr, unknown))}: not a column; "
                                  f"the columns are {', '.join(map(repr, frame.columns))}")
    return frame.drop(columns=list(names)) if names else frame


def select_target(frame, name):
    """(the rows that have a target value, the target's name: ``name`` or the last column,
    the positions of the rows kept). Row labels are kept, so later messages count rows as in
    the table given."""
    if name is None:
        name = frame.columns[-1]
    elif name not in frame.columns:
        raise OptionError("target", f"{{option}} {name!r} is not a column; the columns are "
                                    f"{', '.join(map(repr, frame.columns))}")
    if frame.shape[1] < 2:
        raise ValueError(f"the table has only the column {name!r}: it needs at least one "
                         f"feature column besides the target (is the separator right?)")
    missing = frame[name].isna().to_numpy()
    if missing.all():
        raise ValueError(f"column {name!r} is entirely empty")
    if missing.any():
        log.warning("skipped %d row(s) with no value in the target %r", int(missing.sum()), name)
        frame = frame[~missing]
    return frame, name, np.flatnonzero(~missing)


def loss_for(task, loss):
    """The loss for ``task`` (fastnn.tasks.resolve_loss), as an OptionError naming ``loss``."""
    from ..tasks import resolve_loss

    try:
        return resolve_loss(task, loss)
    except ValueError as exc:
        raise OptionError("loss", "{option}" + str(exc)[len("loss"):]) from None


def holdout(n_rows, fraction, seed, classes=None):
    """(training rows, validation rows) as positions: model_selection.make_splits's hold-out of
    ``fraction`` (none when 0), stratified by ``classes`` (class index per row) when given."""
    from ..model_selection import make_splits

    if fraction == 0:
        return np.arange(n_rows), np.arange(0)
    if n_rows < 2:
        raise ValueError(f"{n_rows} row(s) are too few to hold out a validation share "
                         f"{fraction}; use a validation share of 0")
    return make_splits(n_rows, None, validation_fraction=fraction, stratify=classes,
                       seed=seed)[0]


def cross_folds(n_rows, folds, seed, classes=None):
    """[(training rows, validation rows), ...]: model_selection.make_splits's ``folds`` folds of
    ``n_rows`` rows (stratified by ``classes`` when given), each fold validating once."""
    from ..model_selection import make_splits

    if n_rows < folds:
        raise OptionError("cross_fit", f"{{option}} {folds} needs at least {folds} rows with a "
                                   f"target value, got {n_rows}")
    return make_splits(n_rows, folds, stratify=classes, seed=seed)


class Member(NamedTuple):
    """One trained network of a fit: its EarlyStopping (or None), how it stopped, and the
    positions of its training and validation rows."""
    network: object
    stopper: object
    stopped: str
    rows: np.ndarray
    val_rows: np.ndarray


def overall_stop(members):
    """How a fit of ``members`` ended: interrupted or diverged when one of them did, else as
    the first did."""
    ends = [m.stopped for m in members]
    return next((end for end in ("interrupted", "diverged") if end in ends), ends[0])


def weighted_mean(weighted):
    """{name: the mean of the values weighted by their weight} of [(weight, {name: value}),
    ...] (the names of the first dict); None for a name that is None in any of them (a score
    undefined on some rows, such as R2 of a constant target)."""
    total = sum(weight for weight, _ in weighted)
    return {name: None if any(values[name] is None for _, values in weighted) else
            float(sum(weight * values[name] for weight, values in weighted) / total)
            for name in weighted[0][1]}


def weight_column(frame, name):
    """The weights in column ``name`` (finite numbers >= 0, none missing)."""
    if name not in frame.columns:
        raise OptionError("weight", f"{{option}} {name!r} is not a column")
    values = numeric_values(frame[name], name, trained=False)
    bad = np.flatnonzero(np.isnan(values) | (values < 0))
    if bad.size:
        raise OptionError("weight", f"{{option}} column {name!r} has {values[bad[0]]} in "
                                    f"{row_label(frame.index, bad[0])}: weights must be "
                                    f"numbers >= 0")
    return values


def row_weights(n_rows, sample_weight, class_weights, codes):
    """Per-row weights: ``sample_weight`` (None, or one finite weight >= 0 per row) times the
    weight of each row's class (``class_weights`` None or per class, ``codes`` the rows'
    classes); None when neither is given."""
    if sample_weight is None and class_weights is None:
        return None
    weights = np.ones(n_rows)
    if sample_weight is not None:
        given = np.asarray(sample_weight, dtype=np.float64)
        if given.shape != (n_rows,):
            raise ValueError(f"sample_weight must hold one weight per row ({n_rows}), got shape "
                             f"{given.shape}")
        if not np.all(np.isfinite(given)) or np.any(given < 0):
            raise ValueError("sample_weight must hold finite numbers >= 0")
        weights *= given
    if class_weights is not None:
        weights *= class_weights[codes]
    if not np.any(weights > 0):
        raise ValueError("every row has weight 0")
    return weights


def callbacks_for(options, validated, extra=()):
    """(callbacks for fit, the EarlyStopping or None): TerminateOnNaN, EarlyStopping on
    val_loss (loss without validation rows) restoring the best weights, GradientMonitor with
    ``diagnose``, then ``extra``."""
    from .. import callbacks as callbacks_mod
    from ..diagnostics import GradientMonitor

    stopper = None
    callbacks = [callbacks_mod.TerminateOnNaN()]
    if options.early_stopping:
        stopper = callbacks_mod.EarlyStopping(monitor="val_loss" if validated else "loss",
                                              patience=options.early_stopping)
        callbacks.append(stopper)
    if options.diagnose:
        callbacks.append(GradientMonitor())
    return callbacks + list(extra), stopper


def how_it_stopped(history):
    """completed, early_stopping, diverged or interrupted."""
    reason = history.stop_reason
    return {None: "completed", "callback": "early_stopping"}.get(reason, reason)


def best_epoch(stopper):
    """The 1-based epoch whose weights were kept by early stopping (None without it)."""
    if stopper is None or stopper.best_epoch is None:
        return None
    return stopper.best_epoch + 1


def fresh_seed():
    """A new random seed (a non-negative int32) for ``seed=None``."""
    return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
