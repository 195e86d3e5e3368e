"""Prediction on the CPU: the compiled forward pass (fastnn/kernels/inference.py) over the rows
of a checked array, a chunk of rows per call, in one thread or several.

The compiled call releases the GIL, so both Python threads that predict at the same time and
the row-parallel path below run on several cores. Each call in flight holds its own activation
workspace (``InferenceWorkspaces``).

    predict(model, X, chunk)   the network's output for every row of X, ``chunk`` rows at a time

A prediction of one chunk, or with too little work per chunk to share (fewer than
``threads.BLAS_SPLIT`` multiply-adds), runs in the calling thread, each chunk's products on
the BLAS thread setting of fastnn/threads.py. A larger one is split by rows: ``workers``
threads (the calling one included; the setting's count, or the BLAS's configured threads) each
take the next chunk until none is left, every product on one BLAS thread. A thread that the
machine's other work holds up then delays the others by at most one chunk, where a product
split by the BLAS waits for its slowest thread at every product; and the chunks are the same
whichever thread runs them, so the results do not depend on the number of workers or on the
order in which they ran. While another prediction that reaches the BLAS runs (in another
thread), a prediction runs in its own thread on one BLAS thread: the threads already share
the cores, and split products would wait for each other. An explicit count in the setting
overrides that.
"""

import threading

import numpy as np

from . import threads
from .kernels.dense import BLAS_MIN_ROWS
from .kernels.inference import predict_checked


class InferenceWorkspaces:
    """The activation workspaces of one plan's predictions: a free list, so that calls in
    flight at the same time each hold their own and a sequence of calls reuses one.
    ``take(rows)`` gives (capacity, ops, acts): a free workspace for chunks of up to
    ``capacity`` >= ``rows`` rows (a larger one serves any smaller chunk), or a new one;
    ``give`` returns it. list.pop and list.append are atomic, so no lock is needed."""

    def __init__(self, plan, dtype):
        self.plan = plan
        self.dtype = dtype
        self.opf = plan.opf
        self.n_out = plan.n_out
        self.multiply_adds = sum(int(np.prod(shape)) for offsets in plan.param_offsets
                                 for name, (_, shape) in offsets.items() if name == "kernel")
        self._free = []

    def take(self, rows):
        try:
            entry = self._free.pop()
        except IndexError:
            entry = None
        if entry is None or entry[0] < rows:
            ops, _, size = self.plan.tables(rows)
            entry = (rows, ops, np.empty(size, dtype=self.dtype))
        return entry

    def give(self, entry):
        self._free.append(entry)


def workers_for(workspaces, n, chunk):
    """How many threads predict ``n`` rows in chunks of ``chunk``: one for a single chunk or
    too little work per chunk, else the thread setting's count (the BLAS's configured threads
    when it names none), at most one per chunk."""
    if chunk >= n or chunk * workspaces.multiply_adds <= threads.BLAS_SPLIT:
        return 1
    setting = threads.get_num_threads()
    count = setting if isinstance(setting, int) else threads.configured_threads()
    return min(count, -(-n // chunk))


def predict(model, X, chunk):
    """The network's output (a new array) for every row of the checked array X; a ValueError
    when X holds a NaN or an infinity."""
    n = X.shape[0]
    chunk = min(chunk, n)
    workspaces = model.inference_workspaces()
    out = np.empty((n, workspaces.n_out), dtype=model.dtype)
    if chunk < BLAS_MIN_ROWS:  # no product reaches BLAS: no thread policy, one call
        entry = workspaces.take(chunk)
        finite = predict_checked(X, entry[1], workspaces.opf, model.params, model.state,
                                 entry[2], chunk, out)
        workspaces.give(entry)
    else:
        others = _calls.enter()
        try:
            if others and not isinstance(threads.get_num_threads(), int):
                finite = _in_this_thread(model, workspaces, X, chunk, out, one_blas_thread=True)
            elif (workers := workers_for(workspaces, n, chunk)) > 1:
                finite = _in_threads(model, workspaces, X, chunk, out, workers)
            else:
                finite = _in_this_thread(model, workspaces, X, chunk, out)
        finally:
            _calls.leave()
    if not finite:
        raise ValueError("X contains NaN or infinite values")
    return out


def _chunk(model, workspaces, entry, X, start, chunk, out):
    return predict_checked(X[start:start + chunk], entry[1], workspaces.opf, model.params,
                           model.state, entry[2], chunk, out[start:start + chunk])


def _in_this_thread(model, workspaces, X, chunk, out, one_blas_thread=False):
    """One call per chunk, each on the BLAS thread setting (fastnn/threads.py), or all on one
    BLAS thread."""
    n = X.shape[0]
    entry = workspaces.take(chunk)
    finite = True
    if one_blas_thread:
        with threads.limited(1):
            for start in range(0, n, chunk):
                finite = _chunk(model, workspaces, entry, X, start, chunk, out)
                if not finite:
                    break
    else:
        chooser = threads.ChunkThreads(model, chunk)
        for start in range(0, n, chunk):
            with chooser.chunk(min(chunk, n - start) / chunk):
                finite = _chunk(model, workspaces, entry, X, start, chunk, out)
            if not finite:
                break
    workspaces.give(entry)
    return finite


class CallsInFlight:
    """How many predictions that reach the BLAS are running, in all threads of the process:
    ``enter()`` counts one more and returns how many others there are; ``leave()``."""

    def __init__(self):
        self._lock = threading.Lock()
        self._count = 0

    def enter(self):
        with self._lock:
            self._count += 1
            return self._count - 1

    def leave(self):
        with self._lock:
            self._count -= 1


_calls = CallsInFlight()


def _in_threads(model, workspaces, X, chunk, out, workers):
    """The chunks shared by ``workers`` threads (this one and workers - 1 started here), each
    taking the next until none is left, with the BLAS on one thread."""
    starts = iter(range(0, X.shape[0], chunk))
    claim = threading.Lock()
    failures = []  # a non-finite chunk (False) or an exception; either stops every worker

    def work():
        entry = workspaces.take(chunk)
        try:
            while not failures:
                with claim:
                    start = next(starts, None)
                if start is None:
                    break
                if not _chunk(model, workspaces, entry, X, start, chunk, out):
                    failures.append(False)
        except BaseException as exc:  # re-raised in the calling thread
            failures.append(exc)
        workspaces.give(entry)

    with threads.limited(1):
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
