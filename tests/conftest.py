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
