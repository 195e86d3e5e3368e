import sys

import numpy as np
import pytest

from fastnn.cuda.simulator import use_simulator_without_gpu

# The CUDA tests (tests/test_cuda_*.py) run on a GPU where there is one, else on Numba's CUDA
# simulator; the choice must be made before numba.cuda is first imported. CPU tests are unaffected.
SIMULATOR = use_simulator_without_gpu()


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


# The test files that take longest (child processes, the CUDA simulator, Dask), longest first.
# pytest-xdist deals the first quarter of the tests to its workers in turn, so running these
# first spreads them over the workers, and the short tests left at the end even out the finish.
LONG_FIRST = ["test_bench_smoke", "test_cuda_compile", "test_cuda_model", "test_packaging",
              "test_model_selection", "test_cli_signals", "test_cuda_device", "test_quality_smoke",
              "test_threads", "test_fuzz_model_files", "test_cli_packaging", "test_fuzz_tables",
              "test_cuda_kernels"]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))


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
