"""Prediction on the CPU: the compiled forward pass (fastnn/kernels/inference.py) over the rows
of a checked array, a piece of rows per call, in one thread or several.

    predict(model, X, batch_size)   the network's output for every row of X

The compiled call releases the GIL, so Python threads that predict at the same time run on
several cores, and so does one large prediction: its rows are cut into pieces (at most
``batch_size`` rows, and few enough that a piece's input and activations, ``PIECE_BYTES``,
stay in a core's cache), and ``workers`` threads (the calling one included; the thread
setting's count, or the BLAS's configured threads for None and "auto") each take the next
piece until none is left. Every product runs on one BLAS thread: a thread that the machine's
other work holds up then delays the others by at most one piece, where a product split by the
BLAS waits for its slowest thread at every product. The pieces do not depend on the number of
workers nor on which thread ran which, so neither do the results. Each call in flight holds
its own activation workspace (``InferenceWorkspaces``).
"""

import threading

import numpy as np

from . import threads
from .buffers import aligned_empty
from .kernels.dense import BLAS_MIN_ROWS
from .kernels.inference import predict_checked

# Bytes of one piece's input rows and activations: within a core's L2 cache, and rows enough
# for the BLAS to run near its peak.
PIECE_BYTES = 2 ** 21
NOT_FINITE = "X contains NaN or infinite values"


class InferenceWorkspaces:
    """The activation workspaces of one plan's predictions: a free list, so that calls in
    flight at the same time each hold their own and a sequence of calls reuses one.
    ``take(rows)`` gives (capacity, ops, acts): a free workspace for pieces of up to
    ``capacity`` >= ``rows`` rows (a larger one serves any smaller piece), or a new one;
    ``give`` returns it. list.pop and list.append are atomic, so no lock is needed. Also the
    plan's sizes that predict needs: ``piece_rows`` (see the module), ``multiply_adds`` per
    row and those of the largest product (``largest``, per row); ``kinds``, the compiled
    kernels' table entries (fastnn/kernel_scope.py); ``row_shape``, (1, inputs), the shape
    that ``one_row`` serves."""

    def __init__(self, plan, dtype, kinds):
        self.plan = plan
        self.dtype = dtype
        self.kinds = kinds
        self.opf = plan.opf
        self.n_out = plan.n_out
        row_bytes = dtype.itemsize * (plan.n_in + plan.tables(1)[2])
        self.piece_rows = max(BLAS_MIN_ROWS, PIECE_BYTES // row_bytes)
        self.multiply_adds = sum(int(np.prod(shape)) for offsets in plan.param_offsets
                                 for name, (_, shape) in offsets.items() if name == "kernel")
        k, n = threads.largest_product(plan)
        self.largest = k * n
        self.row_shape = (1, plan.n_in)
        self._out_row_shape = (1, plan.n_out)
        self._free = []

    def take(self, rows):
        try:
            entry = self._free.pop()
        except IndexError:
            entry = None
        if entry is None or entry[0] < rows:
            ops, _, size = self.plan.tables(rows)
            entry = (rows, ops, aligned_empty(size, self.dtype))
        return entry

    def give(self, entry):
        self._free.append(entry)

    def one_row(self, model, X):
        """``predict(model, X, batch_size)`` for X of ``row_shape`` (any batch size gives one
        call of one row), when X is C-contiguous in the model's dtype and the model runs on the
        CPU; None, computing nothing, otherwise (the caller checks that the model's plan is
        still this one). Same kernel and arguments as ``predict``, in as few Python steps as
        possible: for a small network, a one-row call spends more time in Python than in the
        compiled network."""
        if not (X.dtype is self.dtype and model.backend.name == "cpu"
                and X.flags.c_contiguous):
            return None
        out = np.empty(self._out_row_shape, dtype=self.dtype)
        try:
            entry = self._free.pop()  # any workspace holds one row
        except IndexError:
            entry = self.take(1)
        finite = predict_checked(X, entry[1], self.opf, model.params, model.state, entry[2], 1,
                                 out, self.kinds)
        self._free.append(entry)
        if not finite:
            raise ValueError(NOT_FINITE)
        return out


def workers_for(workspaces, n, piece):
    """How many threads predict ``n`` rows in pieces of ``piece``: one for a single piece or
    too little work per piece to share (``threads.BLAS_SPLIT`` multiply-adds, below which the
    BLAS does not split a product either), else the thread setting's count (the BLAS's
    configured threads when it names none, as they stand: one while another call holds the
    process's BLAS at one thread), at most one per piece."""
    if piece >= n or piece * workspaces.multiply_adds <= threads.BLAS_SPLIT:
        return 1
    setting = threads.get_num_threads()
    count = setting if isinstance(setting, int) else threads.configured_threads()
    return min(count, -(-n // piece))


def predict(model, X, batch_size):
    """The network's output (a new array) for every row of the checked array X, in pieces of
    at most ``batch_size`` rows; a ValueError when X holds a NaN or an infinity."""
    n = X.shape[0]
    workspaces = model.inference_workspaces()
    piece = min(batch_size, n, workspaces.piece_rows)
    out = np.empty((n, workspaces.n_out), dtype=model.dtype)
    if piece < BLAS_MIN_ROWS:  # no product reaches the BLAS: one call, no thread setting
        finite = _in_one_call(model, workspaces, X, piece, out)
    elif piece * workspaces.largest <= threads.BLAS_SPLIT:  # the BLAS would not split these
        workers = workers_for(workspaces, n, piece)
        finite = _in_one_call(model, workspaces, X, piece, out) if workers == 1 else \
            _in_pieces(model, workspaces, X, piece, out, workers)
    else:  # the count first: inside the limit the BLAS reads as configured for one thread
        workers = workers_for(workspaces, n, piece)
        with threads.limited(1):
            finite = _in_pieces(model, workspaces, X, piece, out, workers)
    if not finite:
        raise ValueError(NOT_FINITE)
    return out


def _in_one_call(model, workspaces, X, piece, out):
    """Every piece in one compiled call on this thread (as ``_in_pieces`` with one worker, in
    fewer Python steps: fit's validation predicts a few rows every epoch)."""
    entry = workspaces.take(piece)
    finite = predict_checked(X, entry[1], workspaces.opf, model.params, model.state, entry[2],
                             piece, out, workspaces.kinds)
    workspaces.give(entry)
    return finite


def _in_pieces(model, workspaces, X, piece, out, workers):
    """The pieces shared by ``workers`` threads (this one and workers - 1 started here), each
    taking the next until none is left; False when a piece was not all finite."""
    starts = iter(range(0, X.shape[0], piece))
    claim = threading.Lock()
    failures = []  # a non-finite piece (False) or an exception; either stops every worker

    def work():
        entry = workspaces.take(piece)
        try:
            while not failures:
                with claim:
                    start = next(starts, None)
                if start is None:
                    break
                if not predict_checked(X[start:start + piece], entry[1], workspaces.opf,
                                       model.params, model.state, entry[2], piece,
                                       out[start:start + piece], workspaces.kinds):
                    failures.append(False)
        except BaseException as exc:  # re-raised in the calling thread
            failures.append(exc)
        workspaces.give(entry)

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(workers - 1)]
    for helper in helpers:
        helper.start()
    work()
    for helper in helpers:
        helper.join()
    for failure in failures:
        if isinstance(failure, BaseException):
            raise failure
    return not failures
