"""Training steps with each batch's rows split between threads (fastnn/kernels/row_split.py).

``RowSplit(trainer, parts)`` holds what the parts do not share: per part a workspace sized for
its share of a batch, batch buffers, statistics, and (for parts 1 and up) a gradient buffer.
``run(...)`` trains batches [first, stop) with ``parts`` threads: parts 1 and up in threads
started for the call, part 0 in the calling thread; the compiled loop releases the GIL, and
every BLAS product in it runs on one thread (the caller holds the BLAS at one thread). The
other parts' counts of correct predictions and errors are added into the trainer's
statistics afterwards (part 0 keeps the rest in them). If part 0 fails before it runs (an
exception, a Ctrl-C landing between the threads' start and its call), the others are told to
stop at their next barrier, so that no thread is left waiting.

``splits(batch_size, parts)`` says whether a fit can take this path: a batch of at least
MIN_PART_ROWS rows per part, and no gradient diagnostics recorded; ``set_num_threads("auto")``
weighs it only from GAINFUL_PART_ROWS rows a part. The trainer also checks that the memory
the split needs (``extra_bytes``) is there.
"""

import threading

import numpy as np

from .kernels import training as train_kernels
from .kernels.network import BATCHNORM, OPF, OPS, Network
from .kernels.row_split import SplitShared, part_rows, sync_slots, train_batches_part
from .kernels.sync import SYNC_ABORT

# The fewest rows of a batch each part must get for the batch to be split ("rows"), and for
# "auto" to weigh the split rather than the BLAS's own threads against one thread
# (docs/engine.md: with fewer rows a part, the BLAS's threads were faster).
MIN_PART_ROWS = 8
GAINFUL_PART_ROWS = 64
# The statistics each part counts over its own rows (the rest are part 0's, per batch).
ROW_STATS = [train_kernels.STAT_CORRECT, train_kernels.STAT_ABS_ERR, train_kernels.STAT_SQ_ERR]


def splits(batch_size, parts, monitoring=False, gainful=False):
    """True when a fit in batches of ``batch_size`` can be split in ``parts`` (with
    ``gainful``: in parts large enough for "auto" to weigh the split)."""
    part_rows = GAINFUL_PART_ROWS if gainful else MIN_PART_ROWS
    return parts >= 2 and not monitoring and batch_size >= part_rows * parts


def own_slice(size, part, parts):
    """The slice of ``size`` parameters that ``part`` sums and updates (the kernel's rule)."""
    return slice(*part_rows.py_func(0, size, part, parts))


def extra_bytes(model, batch_size, parts):
    """Bytes a split of ``model``'s fit in ``parts`` allocates beyond the one-thread loop's:
    the other parts' gradients, and every part's workspaces and batch buffers."""
    rows = -(-batch_size // parts)
    _, _, workspace = model.plan.tables(rows)
    columns = model.plan.n_in + model.plan.n_out
    return model.dtype.itemsize * ((parts - 1) * model.params.size
                                   + parts * (2 * workspace + rows * columns))


class RowSplit:
    """The per-part buffers of one fit (a ``CpuTrainer``) split in ``parts``."""

    def __init__(self, trainer, parts):
        model, network, data = trainer.model, trainer.network, trainer.data
        self.trainer, self.parts = trainer, parts
        rows = -(-trainer.batch_size // parts)
        ops, opf, workspace = model.plan.tables(rows)
        dtype = model.dtype
        self.part_grads = np.zeros((parts - 1, model.params.size), dtype=dtype)
        batchnorm = ops[:, OPS.kind] == BATCHNORM
        width = 2 * int(ops[batchnorm, OPS.n_out].max(initial=0))
        self.shared = SplitShared(np.zeros(sync_slots(parts), dtype=np.int64), np.zeros(parts),
                                  model.grads, self.part_grads, np.zeros((2, parts, width)))
        self.networks = [
            Network(ops, opf, model.params, model.grads if p == 0 else self.part_grads[p - 1],
                    model.state, np.empty(workspace, dtype=dtype),
                    np.empty(workspace, dtype=dtype), network.kinds)
            for p in range(parts)]
        self.data = [data._replace(x_batch=np.empty((rows, data.x.shape[1]), dtype=dtype),
                                   y_batch=np.empty((rows, data.y.shape[1]), dtype=dtype),
                                   w_batch=np.empty(rows if data.weights.size else 0))
                     for _ in range(parts)]
        self.stats = np.zeros((parts - 1, train_kernels.N_STATS))  # parts 1 and up
        self.penalised = bool(np.any((opf[:, OPF.l1] != 0.0) | (opf[:, OPF.l2] != 0.0)))

    def run(self, order, first, stop, optimizer, schedule):
        """Train batches [first, stop) of ``order`` with the OptimizerSettings ``optimizer``;
        returns the batch reached (as ``train_batches``)."""
        trainer = self.trainer
        first_update = int(trainer.run.counters[train_kernels.COUNT_UPDATES])
        self.shared.sync[:] = 0
        self.stats[:] = 0.0
        reached = [stop] * self.parts
        # Each part updates its own slice when no step needs all the gradients at once.
        own_update = optimizer.clip_norm == 0.0 and not self.penalised
        size = trainer.model.params.size
        slices = [own_slice(size, p, self.parts) for p in range(self.parts)]
        if own_update:
            settings = [optimizer._replace(state=np.ascontiguousarray(optimizer.state[:, s]))
                        for s in slices]
        else:
            settings = [optimizer] * self.parts

        def part(p, stop=stop):
            run = trainer.run if p == 0 else trainer.run._replace(stats=self.stats[p - 1])
            reached[p] = train_batches_part(
                self.data[p]._replace(order=order), first, stop, self.networks[p],
                trainer.loss, settings[p], schedule, run, p, self.parts, self.shared,
                first_update, own_update)

        # No batches: compiles (or loads) the loop here, before any part waits for another.
        part(0, stop=first)
        others = [threading.Thread(target=part, args=(p,), daemon=True)
                  for p in range(1, self.parts)]
        done = False
        try:
            for thread in others:
                thread.start()
            part(0)
            done = True
        finally:
            if not done:  # part 0 never reached the barriers the others wait at
                self.shared.sync[SYNC_ABORT] = 1
            for thread in others:
                thread.join()
            if own_update:
                for s, own in zip(slices, settings):
                    optimizer.state[:, s] = own.state
            trainer.stats[ROW_STATS] += self.stats[:, ROW_STATS].sum(axis=0)
        return reached[0]
