"""The compiled training loop, prediction and gradient entry points, and the records they take.

``train_batches`` runs batches [first, stop) of one epoch with no Python in between: gather the
batch's rows in the epoch's order, forward, loss, backward, gradient clipping, scheduled rate,
optimizer step. Python calls it once per epoch (or per chunk of an epoch) with a fresh
permutation. Its arguments are a few records (namedtuples) of plain arrays and scalars, whose
types do not depend on the architecture, optimizer or schedule, so one compilation per dtype
serves every model (the one whose ``kinds`` is None: every table entry; a KindSet compiles a
model's own entries only, see fastnn/kernels/kinds.py):

    Batches(x, y, weights, order, batch_size, x_batch, y_batch, w_batch)
        the training rows, their sample weights (float64, one per row, or empty for none), the
        epoch's row order and the batch buffers
    Network(ops, opf, params, grads, state, acts, deltas, kinds)    (fastnn/kernels/network.py)
    LossSettings(code, param, fused, accuracy_rule, threshold)
    OptimizerSettings(code, hyper, state, clip_norm, clip_value)
    ScheduleSettings(code, spec, decay, steps_per_epoch)
    RunState(seed, counters, stats, monitor)
        ``seed`` (uint64) the model's seed, which with the step t picks the dropout masks;
        ``counters`` (int64) [COUNT_UPDATES] the updates done so far (the step t of the
        schedule and optimizer); ``stats`` (float64) accumulated over the batches run, the
        STAT_* slots below; ``monitor`` the per-layer diagnostics arrays of
        fastnn/kernels/diagnostics.py (zero rows: nothing recorded)

Every statistic is weighted by the rows' sample weights (each weight 1 without them):
STAT_WEIGHT is the sum of the weights of the rows run, STAT_LOSS the weighted sum of the batch
losses (each batch's loss times its weight sum), STAT_CORRECT the weighted count of correct
predictions, STAT_ABS_ERR and STAT_SQ_ERR the weighted per-row mean errors; STAT_BATCHES counts
the batches run and STAT_LR holds the rate of the last update.
"""

import math
from collections import namedtuple

import numpy as np

from ._jit import kernel
from .diagnostics import record_gradients, record_updates
from .losses import count_correct, loss_and_gradient, row_errors, weight_sum
from .network import backward, forward, op_view, update_state
from .optimizers import apply_update
from .regularization import step_penalty
from .table import formula, switch

# stats slots
(STAT_LOSS, STAT_WEIGHT, STAT_CORRECT, STAT_ABS_ERR, STAT_SQ_ERR, STAT_NONFINITE, STAT_LR,
 STAT_BATCHES) = range(8)
N_STATS = 8
# counters slots
COUNT_UPDATES = 0
# The seed passed in inference, where no mask is drawn.
NO_SEED = np.uint64(0)
# ``forward`` gets its flags as np.bool_ (not literal constants), so that training, gradients and
# prediction share one compiled specialisation of it instead of compiling one each.
TRAINING, INFERENCE = np.bool_(True), np.bool_(False)

Batches = namedtuple("Batches", "x y weights order batch_size x_batch y_batch w_batch")
LossSettings = namedtuple("LossSettings", "code param fused accuracy_rule threshold")
OptimizerSettings = namedtuple("OptimizerSettings", "code hyper state clip_norm clip_value")
ScheduleSettings = namedtuple("ScheduleSettings", "code spec decay steps_per_epoch")
RunState = namedtuple("RunState", "seed counters stats monitor")

@formula
def gather_rows(source, order, start, stop, dest):
    """dest[:stop-start] = source[order[start:stop]]."""
    cols = source.shape[1]
    for r in range(stop - start):
        src = order[start + r]
        for c in range(cols):
            dest[r, c] = source[src, c]


@formula
def gather_weights(source, order, start, stop, dest):
    """dest[:stop-start] = source[order[start:stop]] for 1-D weights (nothing when empty)."""
    if source.shape[0] == 0:
        return
    for r in range(stop - start):
        dest[r] = source[order[start + r]]


@formula
def accumulate_errors(out, y, weights, stats):
    """Add the batch's weighted per-row mean |o - y| and (o - y)^2 to stats; sparse targets
    (one class index per row for several outputs) count as their one-hot rows."""
    rows, cols = out.shape
    sparse = y.shape[1] != cols
    weighted = weights.shape[0] > 0
    abs_err = 0.0
    sq_err = 0.0
    for i in range(rows):
        a, s = row_errors(out, y, i, sparse)
        w = weights[i] if weighted else 1.0
        abs_err += w * a
        sq_err += w * s
    stats[STAT_ABS_ERR] += abs_err / cols
    stats[STAT_SQ_ERR] += sq_err / cols


@formula
def record_rows(stats, loss, out, y, weights):
    """Add the weighted count of correct predictions and the errors of these rows to stats."""
    stats[STAT_CORRECT] += count_correct(loss.accuracy_rule, out, y, weights, loss.threshold)
    accumulate_errors(out, y, weights, stats)


@formula
def record_batch(stats, batch_loss, batch_weight, lr):
    """Add a batch's loss (times its weight) and weight to stats; note its rate."""
    stats[STAT_LOSS] += batch_loss * batch_weight
    stats[STAT_WEIGHT] += batch_weight
    stats[STAT_LR] = lr
    stats[STAT_BATCHES] += 1.0


# The gradient monitor's two states (the "monitor" family of fastnn/kernels/kinds.py).
MONITOR_OFF, MONITOR_ON = 0, 1


def _record_gradients(monitor, network, rows):
    record_gradients(monitor, network.ops, network.params, network.grads, network.acts, rows)


def _record_updates(monitor, network, rows):
    record_updates(monitor, network.params)


_monitor_gradients = switch([(MONITOR_ON, _record_gradients)], "monitor")
_monitor_updates = switch([(MONITOR_ON, _record_updates)], "monitor")


@kernel
def train_batches(data, first, stop, network, loss, optimizer, schedule, run):
    """Train on batches [first, stop); return the index of the batch after the last one run
    (earlier than ``stop`` when the loss became NaN or infinite: that batch's update is skipped
    and stats[STAT_NONFINITE] is set). The loss recorded includes the weight penalty."""
    n = data.order.shape[0]
    ops = network.ops
    last = ops.shape[0] - 1
    counters, stats, monitor = run.counters, run.stats, run.monitor
    monitoring = MONITOR_ON if monitor[0].shape[0] > 0 else MONITOR_OFF
    kinds = network.kinds
    weighted = data.weights.shape[0] > 0
    for b in range(first, stop):
        start = b * data.batch_size
        end = min(start + data.batch_size, n)
        rows = end - start
        gather_rows(data.x, data.order, start, end, data.x_batch)
        gather_rows(data.y, data.order, start, end, data.y_batch)
        gather_weights(data.weights, data.order, start, end, data.w_batch)
        xb = data.x_batch[:rows]
        yb = data.y_batch[:rows]
        wb = data.w_batch[:rows] if weighted else data.w_batch[:0]
        t = counters[COUNT_UPDATES]
        forward(network, xb, TRAINING, run.seed, t, 0)
        out = op_view(network.acts, ops, last, rows)
        d_out = op_view(network.deltas, ops, last, rows)
        batch_loss = loss_and_gradient(loss.code, out, yb, wb, d_out, loss.param, loss.fused,
                                       kinds)
        if not math.isfinite(batch_loss):
            stats[STAT_NONFINITE] = 1.0
            return b
        backward(network, xb, loss.fused, run.seed, t, 0)
        update_state(network, rows)
        batch_loss += step_penalty(network, True)
        _monitor_gradients(kinds, monitoring, monitor, network, rows)
        lr = apply_update(optimizer, schedule, network.params, network.grads, t, kinds)
        _monitor_updates(kinds, monitoring, monitor, network, rows)
        counters[COUNT_UPDATES] = t + 1
        record_batch(stats, batch_loss, weight_sum(wb, rows), lr)
        record_rows(stats, loss, out, yb, wb)
    return stop


@formula
def predict_rows(x_all, network, chunk, out_all):
    """Inference over all rows of x_all, ``chunk`` rows at a time; results into out_all."""
    n = x_all.shape[0]
    width = out_all.shape[1]
    for start in range(0, n, chunk):
        end = min(start + chunk, n)
        rows = end - start
        xb = x_all[start:end]
        forward(network, xb, INFERENCE, NO_SEED, np.int64(0), 0)
        out = op_view(network.acts, network.ops, network.ops.shape[0] - 1, rows)
        for i in range(rows):
            for j in range(width):
                out_all[start + i, j] = out[i, j]


@kernel
def batch_gradients(x, y, weights, network, loss, seed, step):
    """Gradient of the weighted mean loss plus the weight penalty over all of (x, y), taken as
    one batch in training mode (batch statistics; the dropout masks of update ``step``), into
    ``grads``; returns that loss. Running statistics are left unchanged."""
    rows = x.shape[0]
    last = network.ops.shape[0] - 1
    forward(network, x, TRAINING, seed, step, 0)
    out = op_view(network.acts, network.ops, last, rows)
    d_out = op_view(network.deltas, network.ops, last, rows)
    value = loss_and_gradient(loss.code, out, y, weights, d_out, loss.param, loss.fused,
                              network.kinds)
    backward(network, x, loss.fused, seed, step, 0)
    return value + step_penalty(network, True)
