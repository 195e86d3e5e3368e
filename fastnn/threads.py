"""How many threads fastnn's BLAS products use during fit (and predictions, below).

    set_num_threads(None)    the default: the BLAS as configured (OPENBLAS_NUM_THREADS,
                             threadpoolctl, or one thread per core); bit-reproducible
    set_num_threads(n)       n threads in every compiled call, restored after each call
    set_num_threads("rows")  fit splits each batch's rows between as many threads as the BLAS
                             is configured for, every product on one BLAS thread
                             (fastnn/row_split.py); bit-reproducible at a fixed count. A fit
                             that cannot be split (small batches, gradient diagnostics, not
                             enough memory) runs as with None
    set_num_threads("auto")  per compiled chunk, one thread or all (the rows split where a fit's
                             batches give each thread enough rows, else the BLAS as configured),
                             whichever has been measured faster for that product shape
                             (``ChunkThreads``); not bit-reproducible once products are large
                             enough to be split

FASTNN_NUM_THREADS (a count, ``rows`` or ``auto``) sets the initial value. The BLAS's thread
count is one setting for the whole process, so calls from several Python threads share it
(``_limited``): while any call runs with a limit, a call that needs another limit waits, and
the last call to finish restores the setting it found. At a fixed count, concurrent calls
therefore give the same bits as the same calls made one after another, and the process's
setting is the same after them as before. docs/engine.md says why the default is what it is,
and what was measured. Predictions (predict, evaluate) run every product on one BLAS thread and
share their rows among threads instead: the count set here, or the configured count for None,
"rows" and "auto" (fastnn/inference.py).
"""

import contextlib
import os
import threading
import time

from . import scipy_blas

# OpenBLAS splits a product over threads above this many multiply-adds (its interface/gemm.c:
# SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4).
BLAS_SPLIT = 262144
# Readings of /proc/loadavg per decision, and the pause between them (seconds).
LOAD_SAMPLES = 5
LOAD_INTERVAL = 2e-4
# Calls on the faster setting before the other is tried again, at first and at most.
EXPLORE_FIRST = 2
EXPLORE_MAX = 64
# A try of the slower setting runs this fraction of a chunk's batches (the rest run on the
# faster one).
PROBE_FRACTION = 4

AUTO = "auto"
ROWS = "rows"
_setting = None  # None: the BLAS as configured; a count; ROWS; or AUTO (measured per chunk)
_controller = None
_choices = {}  # (rows, k, n, configured threads, splits) -> ThreadChoice


def _parse(value):
    if value is None or value == AUTO or value == ROWS:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"the number of threads must be a positive integer, None, 'rows' or "
                         f"'auto', got {value!r}")
    return value


def set_num_threads(n):
    """Use ``n`` BLAS threads in fastnn's calls; None: the BLAS as configured (the default);
    "rows": split each training batch's rows between the configured threads; "auto": one
    thread or all, whichever is measured faster per chunk (not bit-reproducible across runs,
    see above)."""
    global _setting
    _setting = _parse(n)


def get_num_threads():
    """The setting: a thread count, None (as configured), "rows" or "auto"."""
    return _setting


def _blas():
    """threadpoolctl's controller of the loaded BLAS libraries (made once, after loading
    SciPy's BLAS, which Numba's kernels otherwise load only at their first product)."""
    global _controller
    if _controller is None:
        scipy_blas.load()
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def configured_threads():
    """The largest thread count among the loaded BLAS libraries."""
    return max([lib.num_threads for lib in _blas().select(user_api="blas").lib_controllers],
               default=1)


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def other_runnable_tasks():
    """The fewest runnable tasks besides this thread in LOAD_SAMPLES readings of
    /proc/loadavg (the 1-minute load average less one where that file does not exist)."""
    fewest = None
    try:
        for i in range(LOAD_SAMPLES):
            if i:
                time.sleep(LOAD_INTERVAL)
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0]) - 1
            fewest = running if fewest is None else min(fewest, running)
        return fewest
    except (OSError, ValueError, IndexError):
        try:
            return max(0, int(os.getloadavg()[0] - 1.0 + 0.5))
        except (AttributeError, OSError):
            return 0


def free_cores():
    """The cores available to this process that no other runnable task is using (at least 1)."""
    n = cores()
    return max(1, min(n, n - other_runnable_tasks()))


def largest_product(plan):
    """(k, n) of the largest weight matrix x @ W of a plan (every 2-D parameter named
    "kernel"), or (0, 0) when there is none."""
    shapes = [shape for offsets in plan.param_offsets for name, (_, shape) in offsets.items()
              if name == "kernel" and len(shape) == 2]
    return max(shapes, key=lambda s: s[0] * s[1], default=(0, 0))


class SharedLimit:
    """The process's BLAS thread limit, shared by the calls of all Python threads: the first
    call to enter applies its limit (None: the BLAS as configured, nothing changed), calls with
    the same limit join it, a call with another limit waits until none is active, and the last
    call to leave restores the original setting."""

    def __init__(self):
        self._changed = threading.Condition()
        self._limit = None
        self._users = 0
        self._limiter = None

    @contextlib.contextmanager
    def __call__(self, limit):
        with self._changed:
            while self._users and self._limit != limit:
                self._changed.wait()
            if self._users == 0:
                self._limit = limit
                if limit is not None:
                    _take_blas_control()
                    self._limiter = _blas().limit(limits=limit, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._changed:
                self._users -= 1
                if self._users == 0:
                    if self._limiter is not None:
                        _take_blas_control()
                        self._limiter.restore_original_limits()
                        self._limiter = None
                    self._changed.notify_all()


def _take_blas_control():
    """Let this Python thread set OpenBLAS's thread count. threadpoolctl (3.6 and later) lets
    only the first thread that set the count of an OpenBLAS with its own thread pool change it
    and silently ignores the others, so a prediction or fit in any other thread (a serving
    thread, a Dask worker) would run at the count it found; SharedLimit already makes fastnn's
    calls take turns, so the thread that applies or restores a limit takes control first."""
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


_limited = SharedLimit()


def limited(count):
    """``with limited(count):`` runs the body with the BLAS on ``count`` threads (None: as
    configured), sharing the process's setting with concurrent calls (``SharedLimit``)."""
    return _limited(count)


class ThreadChoice:
    """For one product shape: the seconds per batch of its two ``settings`` (one thread, and
    all threads: None, the BLAS as configured, or ROWS; a running average for the setting in
    use, the latest try for the other) and when to try the other again. The first setting is
    used first."""

    def __init__(self, settings):
        self.settings = tuple(settings)
        self.best = self.settings[0]
        self.seconds = {}
        self.wait = 1  # the second call tries the other setting: both measured at once
        self.since = 0

    def other(self):
        return self.settings[1] if self.best == self.settings[0] else self.settings[0]

    def next(self):
        """The setting for the next call."""
        if self.best not in self.seconds:
            return self.best
        self.since += 1
        if self.since >= self.wait:
            self.since = 0
            return self.other()
        return self.best

    def record(self, setting, per_batch):
        """A call ran on ``setting`` at ``per_batch`` seconds per batch."""
        other = self.other()
        if setting == self.best:
            old = self.seconds.get(setting)
            self.seconds[setting] = per_batch if old is None else 0.5 * (old + per_batch)
            if other in self.seconds and self.seconds[setting] > self.seconds[other]:
                self.best, self.wait, self.since = other, EXPLORE_FIRST, 0
            return
        self.seconds[setting] = per_batch
        if per_batch < self.seconds[self.best]:
            self.best, self.wait, self.since = setting, EXPLORE_FIRST, 0
        else:
            self.wait = min(2 * self.wait, EXPLORE_MAX)


class ChunkThreads:
    """The thread setting of each compiled call of one fit: ``with chooser.chunk(batches) as
    (parts, count):`` around each call, which runs the next ``count`` of the ``batches`` batches
    left in the chunk (all of them, but for a try of a setting other than the fastest: a
    PROBE_FRACTION of them) with each batch's rows split in ``parts`` (1: none).
    ``can_split(parts, gainful)`` says whether the fit can be split in ``parts`` (with
    ``gainful``: in parts large enough for AUTO to weigh the split; fastnn/row_split.py)."""

    def __init__(self, model, rows, can_split=lambda parts, gainful: False):
        self.rows = rows
        self.k, self.n = largest_product(model.plan)
        self.can_split = can_split

    @contextlib.contextmanager
    def chunk(self, batches):
        """Run the body (one compiled call, over the ``count`` it is given of ``batches`` > 0
        batches) on the chosen setting, and record its time per batch where the setting was
        chosen by measurement."""
        if _setting is None:
            yield 1, batches
        elif _setting == ROWS:
            parts = configured_threads()
            if parts > 1 and self.can_split(parts, False):
                with _limited(1):
                    yield parts, batches
            else:
                yield 1, batches
        elif _setting != AUTO:
            with _limited(_setting):
                yield 1, batches
        else:
            configured = configured_threads() if self.rows * self.k * self.n > BLAS_SPLIT else 1
            if configured <= 1:
                yield 1, batches
            else:
                with self._chosen(batches, configured) as call:
                    yield call

    @contextlib.contextmanager
    def _chosen(self, batches, configured):
        splits = self.can_split(configured, True)
        key = (self.rows, self.k, self.n, configured, splits)
        choice = _choices.get(key)
        if choice is None:
            # all threads: rows split where the fit can be, else the BLAS's own threads
            every = ROWS if splits else None
            choice = _choices[key] = ThreadChoice(
                [1, every] if free_cores() < configured else [every, 1])
        setting = choice.next()
        count = batches if setting == choice.best else max(1, batches // PROBE_FRACTION)
        start = time.perf_counter()
        with _limited(1 if setting == ROWS else setting):
            yield (configured if setting == ROWS else 1), count
        choice.record(setting, (time.perf_counter() - start) / count)


_env = os.environ.get("FASTNN_NUM_THREADS")
if _env:
    try:
        set_num_threads(_env if _env in (AUTO, ROWS) else int(_env))
    except ValueError:
        raise ValueError(f"FASTNN_NUM_THREADS must be a positive integer, 'rows' or 'auto', "
                         f"got {_env!r}") from None
