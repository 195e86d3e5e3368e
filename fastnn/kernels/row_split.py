"""The training loop with each batch's rows split between threads: ``train_batches_part``.

``parts`` threads each call ``train_batches_part`` on the same batches [first, stop), each with
its own ``part``. Of a batch's rows [start, end) part p takes the contiguous rows

    [start + rows p / parts, start + rows (p + 1) / parts)      (integer division)

(all of them for part 0 when the batch has fewer rows than parts) and runs forward, loss and
backward on them with its own workspaces and gradient buffer, its rows taking the dropout masks
they have in the whole batch, its BatchNorm ops the statistics of the whole batch (the parts
meet inside them: fastnn/kernels/share.py). The loss of each part is its share of the whole
batch's weighted mean (scaled by the batch's total weight, not its own), so the parts'
gradients add up to the batch's gradient. Then, per batch, barriers (fastnn/kernels/sync.py):

    1. every part has its gradient and loss share: each adds the batch loss up from the shares
       (the same sum in every part, so all stop at the same batch when it is not finite), and
       adds up the parts' gradients over its own slice of the parameters into ``grads``
       (part p's slice: ``part_rows(0, n, p, parts)`` of the n parameters); part 0 folds
       the batch statistics into BatchNorm's running statistics. With ``own_update`` each part
       then updates its slice (clipping by value, schedule, optimizer): ``optimizer.state`` is
       then the part's own copy of its slice's columns; without, a second barrier, after which
       part 0 adds the weight penalty and makes the whole update (clipping by global norm too;
       the whole optimizer state);
    2. (or 3.) the parameters are updated: the next batch may start.

So an update is the single-thread loop's (fastnn/kernels/training.py) up to the order of its
sums, and at a fixed number of parts the same bits on every run. Each part counts the correct
predictions and errors of its own rows into its own ``stats``; the caller adds them up. Fits
that record gradient diagnostics take the single-thread loop (fastnn/row_split.py decides).

    SplitShared(sync, losses, grads, part_grads, sums)
        ``sync`` int64 (``sync_slots(parts)``,): the arrivals at barriers, the abort flag
        and each part's count of barriers passed (fastnn/kernels/sync.py and share.py; all
        zero at the call);
        ``losses`` float64 (parts,) each part's share of the batch loss; ``grads`` the model's
        gradient buffer, which is part 0's own and receives the sum; ``part_grads``
        (parts - 1, n_params) the other parts' gradients; ``sums`` float64 (2, parts, width)
        BatchNorm's partial column sums (fastnn/kernels/share.py)
"""

import math
from collections import namedtuple

from ._jit import kernel
from .losses import share_of_batch_loss
from .network import backward, forward, op_view, update_state
from .optimizers import apply_update
from .regularization import step_penalty
from .share import SYNC_PARTS, BatchShare, meet
from .table import formula
from .training import (COUNT_UPDATES, STAT_NONFINITE, TRAINING, gather_rows, gather_weights,
                       record_batch, record_rows)

SplitShared = namedtuple("SplitShared", "sync losses grads part_grads sums")


def sync_slots(parts):
    """The length of ``SplitShared.sync`` for ``parts`` threads."""
    return SYNC_PARTS + parts


@formula
def part_rows(start, rows, part, parts):
    """The rows [lo, hi) of a batch [start, start + rows) that ``part`` of ``parts`` takes: a
    batch of fewer rows than parts is part 0's alone (also the slice of the parameters [0, n)
    that a part sums and updates)."""
    if rows < parts:
        return (start, start + rows) if part == 0 else (start, start)
    return start + rows * part // parts, start + rows * (part + 1) // parts


@kernel(nogil=True)
def train_batches_part(data, first, stop, network, loss, optimizer, schedule, run, part,
                       parts, shared, first_update, own_update):
    """Part ``part`` of ``parts`` of batches [first, stop) (see above); ``first_update`` is the
    number of updates made before batch ``first``; ``own_update``: each part updates its own
    slice (see above). Returns what ``train_batches`` returns: ``stop``, or the batch whose loss
    was not finite (its update skipped; part 0 sets stats[STAT_NONFINITE]), or, when the
    caller aborts the loop (sync[SYNC_ABORT]), the batch it was in."""
    n = data.order.shape[0]
    ops = network.ops
    last = ops.shape[0] - 1
    stats = run.stats
    kinds = network.kinds
    weighted = data.weights.shape[0] > 0
    size = shared.grads.shape[0]
    own_lo, own_hi = part_rows(0, size, part, parts)
    for b in range(first, stop):
        start = b * data.batch_size
        end = min(start + data.batch_size, n)
        rows = end - start
        lo, hi = part_rows(start, rows, part, parts)
        count = hi - lo
        share = BatchShare(lo - start, rows, parts if rows >= parts else 1, part, parts,
                           shared.sync, shared.sums)
        t = first_update + (b - first)
        lr = 0.0
        batch_weight = float(rows)
        if weighted:
            batch_weight = 0.0
            for r in range(start, end):
                batch_weight += data.weights[data.order[r]]
        xb = data.x_batch[:count]
        yb = data.y_batch[:count]
        wb = data.w_batch[:count] if weighted else data.w_batch[:0]
        out = op_view(network.acts, ops, last, count)
        if count > 0:
            gather_rows(data.x, data.order, lo, hi, data.x_batch)
            gather_rows(data.y, data.order, lo, hi, data.y_batch)
            gather_weights(data.weights, data.order, lo, hi, data.w_batch)
            forward(network, xb, TRAINING, run.seed, t, share)
            d_out = op_view(network.deltas, ops, last, count)
            shared.losses[part] = share_of_batch_loss(loss.code, out, yb, wb, d_out, loss.param,
                                                      loss.fused, batch_weight, kinds)
            backward(network, xb, loss.fused, run.seed, t, share)
        else:
            shared.losses[part] = 0.0
            network.grads[:] = 0.0
        if not meet(share):
            return b
        batch_loss = 0.0
        for q in range(parts):
            batch_loss += shared.losses[q]
        if not math.isfinite(batch_loss):
            if part == 0:
                stats[STAT_NONFINITE] = 1.0
            return b
        own_grads = shared.grads[own_lo:own_hi]
        for q in range(parts - 1):
            other = shared.part_grads[q][own_lo:own_hi]
            for i in range(own_grads.shape[0]):
                own_grads[i] += other[i]
        if count > 0:
            record_rows(stats, loss, out, yb, wb)
        if part == 0:
            update_state(network, rows)
        if own_update:
            lr = apply_update(optimizer, schedule, network.params[own_lo:own_hi], own_grads, t,
                              kinds)
        else:
            if not meet(share):
                return b
            if part == 0:
                batch_loss += step_penalty(network, True)
                lr = apply_update(optimizer, schedule, network.params, network.grads, t, kinds)
        if part == 0:
            run.counters[COUNT_UPDATES] = t + 1
            record_batch(stats, batch_loss, batch_weight, lr)
        if not meet(share):
            return b
    return stop
