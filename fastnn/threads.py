"""How many threads fastnn's BLAS products may use during fit, predict and evaluate.

The large matrix products (fastnn/kernels/dense.py: at least 8 rows and more than 4096
multiply-adds) run in SciPy's OpenBLAS, which splits a product of more than about 262k
multiply-adds over its threads (one per core unless configured otherwise). Those threads pay
off only when the cores are free: a split product waits for its slowest thread, and on a
machine with more runnable work than cores that thread is often not running. Measured on the
project's 2-core machine: one 128x784x256 float32 product took 0.32 ms on two threads and 0.48
ms on one when the cores were free, and up to 18 ms on two threads while other processes kept
the cores busy; a whole B3 epoch (bench/) ran 12 times slower on two threads than on one.

So, by default, a fit (and a prediction large enough to reach BLAS) first counts the cores no
other task is using: the cores available to the process minus the other runnable tasks (the
instantaneous count in /proc/loadavg, less this thread; where that file does not exist, the
1-minute load average less one). When some cores are taken, the BLAS is limited to the free
ones (at least one) for the call; when all are free it is left as configured
(OPENBLAS_NUM_THREADS, threadpoolctl, or one thread per core). ``set_num_threads(n)`` fixes
the count for every call instead, and ``set_num_threads(None)`` returns to the automatic
choice; the environment variable ``FASTNN_NUM_THREADS`` sets the initial value. The previous
setting is restored after each call, so other libraries in the process are not affected.
"""

import contextlib
import os

_fixed = None
_controller = None


def _parse(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"the number of threads must be a positive integer or None, "
                         f"got {value!r}")
    return value


def set_num_threads(n):
    """Use ``n`` BLAS threads in fastnn's calls (None: choose automatically, see above)."""
    global _fixed
    _fixed = _parse(n)


def get_num_threads():
    """The fixed number of BLAS threads, or None when fastnn chooses per call."""
    return _fixed


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def free_cores():
    """The cores available to this process that no other runnable task is using (at least 1)."""
    n = cores()
    try:
        with open("/proc/loadavg") as f:
            others = int(f.read().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        try:
            others = int(os.getloadavg()[0] - 0.5)
        except (AttributeError, OSError):
            others = 0
    return max(1, min(n, n - others))


def _blas():
    """threadpoolctl's controller of the loaded BLAS libraries (made once, after loading
    SciPy's BLAS, which Numba's kernels otherwise load only at their first product)."""
    global _controller
    if _controller is None:
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def blas_threads():
    """Apply the thread policy for the duration of one fastnn call."""
    if _fixed is not None:
        limit = _fixed
    else:
        free = free_cores()
        limit = free if free < cores() else None
    if limit is None:
        yield
        return
    with _blas().limit(limits=limit, user_api="blas"):
        yield


_env = os.environ.get("FASTNN_NUM_THREADS")
if _env:
    try:
        set_num_threads(int(_env))
    except ValueError:
        raise ValueError(f"FASTNN_NUM_THREADS must be a positive integer, got {_env!r}") \
            from None
