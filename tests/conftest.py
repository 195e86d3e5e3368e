import sys
import threading

import numpy as np
import pytest

from fastnn.cuda.simulator import use_simulator_without_gpu

# The CUDA tests (tests/test_cuda_*.py) run on a GPU where there is one, else on Numba's CUDA
# simulator; the choice must be made before numba.cuda is first imported. CPU tests are unaffected.
SIMULATOR = use_simulator_without_gpu()


def _atomic_shared_arrays():
    """The simulator gives a block's threads one shared array per source line by looking it up
    in a dict and, when missing, creating and storing it: two threads that switch between the
    look-up and the store each get their own array (the others read uninitialised memory). With
    the short switch interval below that happened (a CUDA gradient test failed once in a few
    runs). Here the look-up and the store are one step under a lock, keyed as the simulator keys
    them (the calling line), as a GPU block's shared memory is one."""
    from numba.core import types
    from numba.cuda.simulator.kernelapi import FakeCUDAShared
    from numba.np import numpy_support

    lock = threading.Lock()
    dynamic = FakeCUDAShared.array

    def array(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one buffer, no look-up
            return dynamic(self, shape, dtype)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            if key not in self._allocations:
                self._allocations[key] = np.empty(shape, dtype)
            return self._allocations[key]

    FakeCUDAShared.array = array


if SIMULATOR:
    _atomic_shared_arrays()


@pytest.fixture(autouse=True, scope="session")
def kernels_for_every_entry():
    """A test process builds hundreds of different models: compiling every table entry once
    (float32's is prepared at install) costs less than the first model's own entries and then
    every entry, which a user's process would do (tests/test_kernel_scope.py tests that)."""
    from fastnn import kernel_scope

    kernel_scope.compile_every_entry()


@pytest.fixture(scope="module")
def simulator_switching():
    """For tests that launch CUDA kernels: on the simulator, Python switches threads every 0.2 ms
    instead of every 5 ms. The simulator runs each GPU thread as a Python thread and waits for
    them (and releases them at each syncthreads) in a loop that holds the interpreter lock until
    Python switches, so a launch then takes about half as long."""
    previous = sys.getswitchinterval()
    if SIMULATOR:
        sys.setswitchinterval(2e-4)
    yield
    sys.setswitchinterval(previous)


# The tests that take longest (child processes, the CUDA simulator, Dask), longest first: a test
# file's name, or file::test. pytest-xdist (--maxschedchunk 2 in pyproject.toml) hands each
# worker two tests in this order, then two more each time one finishes, so the long ones spread
# over the workers and the short ones at the end even out the finish. The short test between
# the two long benchmark smoke tests keeps those on different workers.
LONG_FIRST = ["test_bench_smoke.py::test_every_benchmark_runs_once_at_tiny_size",
              "test_bench_smoke.py::test_report_rejects_an_unknown_workload",
              "test_bench_smoke.py", "test_cuda_compile.py", "test_cuda_model.py",
              "test_packaging.py", "test_model_selection.py", "test_cli_signals.py",
              "test_cuda_device.py", "test_quality_smoke.py", "test_threads.py",
              "test_fuzz_model_files.py", "test_cli_packaging.py", "test_fuzz_tables.py",
              "test_cuda_kernels.py"]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.nodeid.rsplit("/", 1)[-1]
        return next((i for i, prefix in enumerate(LONG_FIRST)
                     if name == prefix or name.startswith(prefix + "::")), len(LONG_FIRST))

    items.sort(key=rank)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def finite_difference(f, x, eps=1e-6):
    """Central differences of the scalar function f at x (float64, any shape)."""
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        g[i] = (up - down) / (2 * eps)
    return grad
