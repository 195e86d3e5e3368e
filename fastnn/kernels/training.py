"""The compiled training loop, prediction and gradient entry points.

``train_batches`` runs batches [first, stop) of one epoch with no Python in between: gather the
batch's rows in the epoch's order, forward, loss, backward, gradient clipping, scheduled rate,
optimizer step. Python calls it once per epoch (or per chunk of an epoch) with a fresh
permutation; the model's tables and buffers are plain arrays, so one compilation per dtype serves
every architecture, optimizer and schedule.

``counters`` (int64): [0] updates done so far in the run (the step t of the schedule/optimizer).
``seed`` (uint64): the model's seed, which with the step t picks the dropout masks.
``stats`` (float64), accumulated over the batches run: see the STAT_* indices below.
``monitor``: the per-layer diagnostics arrays of fastnn/kernels/diagnostics.py; with zero rows
(the default of a fit without a GradientMonitor) nothing is recorded.
"""

import math

import numpy as np

from ._jit import kernel
from .diagnostics import record_gradients, record_updates
from .losses import count_correct, loss_and_gradient
from .network import backward, forward, op_view, update_state
from .optimizers import apply_update
from .regularization import regularization_penalty

# stats slots
STAT_LOSS, STAT_ROWS, STAT_CORRECT, STAT_ABS_ERR, STAT_SQ_ERR, STAT_NONFINITE, STAT_LR = range(7)
N_STATS = 7
# counters slots
COUNT_UPDATES = 0
# The seed passed in inference, where no mask is drawn.
NO_SEED = np.uint64(0)
# ``forward`` gets its flags as np.bool_ (not literal constants), so that training, gradients and
# prediction share one compiled specialisation of it instead of compiling one each.
TRAINING, INFERENCE = np.bool_(True), np.bool_(False)


@kernel
def gather_rows(source, order, start, stop, dest):
    """dest[:stop-start] = source[order[start:stop]]."""
    cols = source.shape[1]
    for r in range(stop - start):
        src = order[start + r]
        for c in range(cols):
            dest[r, c] = source[src, c]


@kernel
def accumulate_errors(out, y, stats):
    """Add the batch's per-row mean |o - y| and (o - y)^2 to stats; sparse targets (one class
    index per row for several outputs) count as their one-hot rows."""
    rows, cols = out.shape
    sparse = y.shape[1] != cols
    abs_err = 0.0
    sq_err = 0.0
    for i in range(rows):
        for j in range(cols):
            target = (1.0 if j == int(y[i, 0]) else 0.0) if sparse else y[i, j]
            r = out[i, j] - target
            abs_err += abs(r)
            sq_err += r * r
    stats[STAT_ABS_ERR] += abs_err / cols
    stats[STAT_SQ_ERR] += sq_err / cols


@kernel
def train_batches(x_all, y_all, order, first, stop, batch_size,
                  ops, opf, params, grads, state, acts, deltas, x_batch, y_batch,
                  loss_code, loss_param, fused_output, accuracy_rule, threshold,
                  opt_code, opt_hyper, opt_state, sched_code, sched_spec, lr_decay,
                  steps_per_epoch, clip_norm, clip_value, seed, counters, stats, monitor):
    """Train on batches [first, stop); return the index of the batch after the last one run
    (earlier than ``stop`` when the loss became NaN or infinite: that batch's update is skipped
    and stats[STAT_NONFINITE] is set). The loss recorded includes the weight penalty."""
    n = order.shape[0]
    last = ops.shape[0] - 1
    monitoring = monitor[0].shape[0] > 0
    for b in range(first, stop):
        start = b * batch_size
        end = min(start + batch_size, n)
        rows = end - start
        gather_rows(x_all, order, start, end, x_batch)
        gather_rows(y_all, order, start, end, y_batch)
        xb = x_batch[:rows]
        yb = y_batch[:rows]
        t = counters[COUNT_UPDATES]
        out = forward(ops, opf, params, state, xb, acts, TRAINING, seed, t)
        d_out = op_view(deltas, ops, last, rows)
        loss = loss_and_gradient(loss_code, out, yb, d_out, loss_param, fused_output)
        if not math.isfinite(loss):
            stats[STAT_NONFINITE] = 1.0
            return b
        backward(ops, opf, params, grads, state, xb, acts, deltas, fused_output, seed, t)
        update_state(ops, opf, state, acts, rows)
        loss += regularization_penalty(ops, opf, params, grads, True)
        if monitoring:
            record_gradients(monitor, ops, params, grads, acts, rows)
        lr = apply_update(opt_code, opt_hyper, params, grads, opt_state, sched_code, sched_spec,
                          lr_decay, steps_per_epoch, clip_norm, clip_value, t)
        if monitoring:
            record_updates(monitor, params)
        counters[COUNT_UPDATES] = t + 1
        stats[STAT_LOSS] += loss * rows
        stats[STAT_ROWS] += rows
        stats[STAT_CORRECT] += count_correct(accuracy_rule, out, yb, threshold)
        accumulate_errors(out, yb, stats)
        stats[STAT_LR] = lr
    return stop


@kernel
def predict_rows(x_all, ops, opf, params, state, acts, chunk, out_all):
    """Inference over all rows of x_all, ``chunk`` rows at a time; results into out_all."""
    n = x_all.shape[0]
    width = out_all.shape[1]
    for start in range(0, n, chunk):
        end = min(start + chunk, n)
        rows = end - start
        xb = x_all[start:end]
        out = forward(ops, opf, params, state, xb, acts, INFERENCE, NO_SEED, np.int64(0))
        for i in range(rows):
            for j in range(width):
                out_all[start + i, j] = out[i, j]


@kernel
def batch_gradients(x, y, ops, opf, params, grads, state, acts, deltas,
                    loss_code, loss_param, fused_output, seed, step):
    """Gradient of the mean loss plus the weight penalty over all of (x, y), taken as one batch
    in training mode (batch statistics; the dropout masks of update ``step``), into ``grads``;
    returns that loss. Running statistics are left unchanged."""
    rows = x.shape[0]
    last = ops.shape[0] - 1
    out = forward(ops, opf, params, state, x, acts, TRAINING, seed, step)
    d_out = op_view(deltas, ops, last, rows)
    loss = loss_and_gradient(loss_code, out, y, d_out, loss_param, fused_output)
    backward(ops, opf, params, grads, state, x, acts, deltas, fused_output, seed, step)
    return loss + regularization_penalty(ops, opf, params, grads, True)
