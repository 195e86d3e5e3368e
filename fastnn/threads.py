"""How many threads fastnn's BLAS products use during fit, predict and evaluate.

The large matrix products (fastnn/kernels/dense.py: at least 8 rows and more than 4096
multiply-adds) run in SciPy's OpenBLAS, which splits a product of more than about 262k
multiply-adds (``BLAS_SPLIT``) over its threads, one per core unless configured otherwise. A
split product waits for its slowest thread, so the threads pay only on cores that nothing else
wants, and on a shared machine that changes from minute to minute: on the project's 2-core
machine a B3 epoch on 20% of its rows (bench/) took 0.07 s on two threads and 0.12 s on one,
and ten minutes later 1.4 s on two and 0.21 s on one, while another process kept a core busy
(at a load average of 10, two threads made the epoch 12 times as long as one). Neither a
reading of the load nor a trial of a few products before the call predicted which case an
epoch would be in.

The thread count also decides the bits: OpenBLAS splits a product differently on one thread
than on two, and the results differ in the last bits (measured: up to 4e-5 on 784x256
products). A choice that depends on timing would make two runs of the same seed give different
weights, so **by default fastnn leaves the BLAS as configured** (OPENBLAS_NUM_THREADS,
threadpoolctl, or one thread per core): deterministic, and the fastest on a quiet machine.

``set_num_threads("auto")`` (or ``FASTNN_NUM_THREADS=auto``) opts into measuring as it goes,
for shared machines where speed matters more than bit-identical reruns. Python runs the
compiled loop in chunks (a fit: about 8192 rows of batches per call, fastnn/trainer.py; a
prediction: one call per chunk of rows); ``ChunkThreads`` times each chunk and runs the next
one on the setting that has been faster per batch for this product shape: one thread, or the
BLAS as configured. The second chunk of a new shape tries the other setting, and later tries
come after ``EXPLORE_FIRST`` chunks, twice as long after each try that was slower (up to
``EXPLORE_MAX`` chunks); it switches at once when the setting in use gets slower than the
other's last try. What it learns is kept per product shape for the process, so the next call
starts from it. The first chunk of a new shape uses the conservative rule: the BLAS is limited
to the cores that no other runnable task is using (the fewest seen in five readings of
/proc/loadavg over about a millisecond; where that file does not exist, the 1-minute load
average less one), at least one.

``set_num_threads(n)`` fixes the count for every call instead, ``set_num_threads(None)``
returns to the default (as configured); the environment variable ``FASTNN_NUM_THREADS`` (a
count or ``auto``) sets the initial value. The previous setting is restored after each call, so
other libraries in the process are not affected.
"""

import contextlib
import os
import time

# OpenBLAS splits a product over threads above this many multiply-adds (its interface/gemm.c:
# SMP_THRESHOLD_MIN 65536 x GEMM_MULTITHREAD_THRESHOLD 4).
BLAS_SPLIT = 262144
# Readings of /proc/loadavg per decision, and the pause between them (seconds).
LOAD_SAMPLES = 5
LOAD_INTERVAL = 2e-4
# Chunks on the faster setting before the other is tried again, at first and at most.
EXPLORE_FIRST = 2
EXPLORE_MAX = 64

AUTO = "auto"
_setting = None  # None: the BLAS as configured; a count; or AUTO (measured per chunk)
_controller = None
_choices = {}  # (rows, k, n, configured threads) -> ThreadChoice


def _parse(value):
    if value is None or value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"the number of threads must be a positive integer, None or 'auto', "
                         f"got {value!r}")
    return value


def set_num_threads(n):
    """Use ``n`` BLAS threads in fastnn's calls; None: the BLAS as configured (the default);
    "auto": one thread or as configured, whichever is measured faster per chunk (not
    bit-reproducible across runs, see above)."""
    global _setting
    _setting = _parse(n)


def get_num_threads():
    """The setting: a thread count, None (as configured) or "auto"."""
    return _setting


def _blas():
    """threadpoolctl's controller of the loaded BLAS libraries (made once, after loading
    SciPy's BLAS, which Numba's kernels otherwise load only at their first product)."""
    global _controller
    if _controller is None:
        import scipy.linalg.cython_blas  # noqa: F401
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


def _limited(limit):
    """A context limiting the BLAS to ``limit`` threads (None: as configured)."""
    if limit is None:
        return contextlib.nullcontext()
    return _blas().limit(limits=limit, user_api="blas")


class ThreadChoice:
    """For one product shape: the seconds per batch of each setting (1 thread, or None: as
    configured; a running average for the setting in use, the latest try for the other) and
    when to try the other again."""

    def __init__(self, first):
        self.best = first
        self.seconds = {}
        self.wait = 1  # the second chunk tries the other setting: both measured at once
        self.since = 0

    def other(self):
        return None if self.best == 1 else 1

    def next(self):
        """The setting for the next chunk."""
        if self.best not in self.seconds:
            return self.best
        self.since += 1
        if self.since >= self.wait:
            self.since = 0
            return self.other()
        return self.best

    def record(self, setting, per_batch):
        """A chunk ran on ``setting`` at ``per_batch`` seconds per batch."""
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
    """The thread setting of each compiled chunk of one fit: ``with chooser.chunk(batches):``
    around each call (see the module's docstring)."""

    def __init__(self, model, rows):
        self.rows = rows
        self.k, self.n = largest_product(model.plan)

    @contextlib.contextmanager
    def chunk(self, batches):
        """Run the body (one compiled call over ``batches`` batches, > 0) on the chosen
        setting and record its time per batch."""
        if _setting is None:
            yield
            return
        if _setting != AUTO:
            with _limited(_setting):
                yield
            return
        configured = configured_threads() if self.rows * self.k * self.n > BLAS_SPLIT else 1
        if configured <= 1:
            yield
            return
        key = (self.rows, self.k, self.n, configured)
        choice = _choices.get(key)
        if choice is None:
            choice = _choices[key] = ThreadChoice(1 if free_cores() < configured else None)
        setting = choice.next()
        start = time.perf_counter()
        with _limited(setting):
            yield
        choice.record(setting, (time.perf_counter() - start) / batches)


_env = os.environ.get("FASTNN_NUM_THREADS")
if _env:
    try:
        set_num_threads(_env if _env == AUTO else int(_env))
    except ValueError:
        raise ValueError(f"FASTNN_NUM_THREADS must be a positive integer or 'auto', "
                         f"got {_env!r}") from None
