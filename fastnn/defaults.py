"""The default training settings of ``fastnn train``: a rule of the table's size.

``train_defaults(rows, task)`` gives the settings the command uses for every option the user
did not give; ``fill(settings, rows, task)`` fills the ``None`` entries of a settings dict with
them. ``rows`` is the number of training rows (after the validation rows are held out) and
``task`` is binary, multiclass or regression; ``validated`` says whether the run holds rows out
for validation. The rule depends on nothing else (never on a table's name or values);
docs/defaults.md gives the study that chose it.

    batch_size      32
    epochs          enough for MIN_UPDATES updates, and at least MIN_EPOCHS:
                    max(MIN_EPOCHS, ceil(MIN_UPDATES / ceil(rows / batch_size)))
                    (a 100-row table gets 750 epochs, one of 3200 rows or more 100)
    early_stopping  patience: PATIENCE_SHARE of the epochs, at least MIN_PATIENCE
                    (training stops after that many epochs without a better validation loss
                    and keeps the best epoch's weights)
    layers, dropout by the training rows and the kind of task (SIZES):
                                               classification       regression
                        rows < 1000            64,32, 0.2           64,32, 0.2
                        1000 <= rows < 20000   256,256,256, 0.3     256,128, 0.1
                        rows >= 20000          64,32, 0             64,32, 0
                    (small tables overfit a wide network; mid-sized ones gain from its width
                    with dropout, less of it for regression, whose outputs dropout's noise
                    disturbs more; from 20000 rows the compute of a wide network is not spent
                    and dropout is not needed)
    cross_fit       CROSS_FIT_FOLDS below CROSS_FIT_ROWS training rows (when the run validates),
                    else 1: on a small table k networks are trained, each validated (early
                    stopping) on its own fold of the rows and trained on the others, and their
                    outputs averaged, so that every row is used for training and for validation
                    and the variance of one small hold-out is averaged out; from
                    CROSS_FIT_ROWS one network and the 20% hold-out

The other settings keep fixed defaults, given with the command's options (activation relu, adam
at its learning rate 0.001, a constant rate, no L1/L2 penalty, 20% of the rows for validation).
The result is a plain dict of JSON-ready values (the command stores its settings in the model
file).
"""

import math

from .checks import positive_int

BATCH_SIZE = 32
MIN_UPDATES = 3000
MIN_EPOCHS = 100
PATIENCE_SHARE = 0.1
MIN_PATIENCE = 10
# per kind of task: (from this many training rows, hidden layer widths, dropout rate)
SIZES = {
    "classification": ((0, (64, 32), 0.2), (1000, (256, 256, 256), 0.3), (20000, (64, 32), 0.0)),
    "regression": ((0, (64, 32), 0.2), (1000, (256, 128), 0.1), (20000, (64, 32), 0.0)),
}
TASKS = ("binary", "multiclass", "regression")
CROSS_FIT_FOLDS = 5
CROSS_FIT_ROWS = 5000


def epochs_for(rows, batch_size, min_updates=MIN_UPDATES, min_epochs=MIN_EPOCHS):
    """The epochs that make at least ``min_updates`` updates of ``batch_size`` rows over
    ``rows`` training rows, and at least ``min_epochs``."""
    updates_per_epoch = math.ceil(rows / batch_size)
    return max(min_epochs, math.ceil(min_updates / updates_per_epoch))


def patience_for(epochs):
    """Early-stopping patience for a run of ``epochs``: PATIENCE_SHARE of it, at least
    MIN_PATIENCE."""
    return max(MIN_PATIENCE, int(round(epochs * PATIENCE_SHARE)))


def network_for(rows, task):
    """(hidden layer widths, dropout rate) for ``rows`` training rows and ``task`` (SIZES)."""
    sizes = SIZES["regression" if task == "regression" else "classification"]
    layers, dropout = sizes[0][1:]
    for first_row, size_layers, size_dropout in sizes:
        if rows >= first_row:
            layers, dropout = size_layers, size_dropout
    return list(layers), dropout


def cross_fit_for(rows, validated=True):
    """Cross-fitting folds for ``rows`` training rows: CROSS_FIT_FOLDS from CROSS_FIT_FOLDS
    rows to below CROSS_FIT_ROWS when the run validates, else 1 (one network)."""
    return CROSS_FIT_FOLDS if validated and CROSS_FIT_FOLDS <= rows < CROSS_FIT_ROWS else 1


def train_defaults(rows, task, batch_size=None, validated=True):
    """The default settings for ``rows`` training rows and ``task`` (binary, multiclass or
    regression), as {setting: value} with the command's setting names. ``batch_size`` (when the
    user chose one) is what the epochs are counted in; ``validated``: whether the run holds
    validation rows out (without them there is nothing to cross-fit on)."""
    rows = positive_int("rows", rows)
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    batch = BATCH_SIZE if batch_size is None else batch_size
    epochs = epochs_for(rows, batch)
    layers, dropout = network_for(rows, task)
    return {"layers": layers, "dropout": dropout, "batch_size": BATCH_SIZE, "epochs": epochs,
            "early_stopping": patience_for(epochs), "cross_fit": cross_fit_for(rows, validated)}


def fill(settings, rows, task, validated=True):
    """A copy of ``settings`` with every entry among the defaults' keys that is None (or
    missing) set to the default for ``rows`` and ``task`` (and ``validated``), and
    ``"defaulted"``: the names so filled. Epochs are counted in the batch size the settings
    give (an integer)."""
    given_batch = settings.get("batch_size")
    defaults = train_defaults(rows, task,
                              batch_size=given_batch if isinstance(given_batch, int) else None,
                              validated=validated)
    filled = dict(settings)
    chosen = [name for name in defaults if filled.get(name) is None]
    for name in chosen:
        filled[name] = defaults[name]
    filled["defaulted"] = chosen
    return filled
