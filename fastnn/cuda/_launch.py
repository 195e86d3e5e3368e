"""Launch shapes shared by the CUDA kernels, and the formulas as the kernels call them.

Float arguments are passed to kernels as float64 NumPy scalars, not Python floats: compiled,
both are float64, but the simulator runs kernels as NumPy code, where a Python float combined
with a float32 value stays float32 (NEP 50) and would round differently from the GPU.

``device(f)`` is a formula of fastnn/kernels (a Numba CPU function marked @formula) as a CUDA
kernel calls it: on a GPU the function itself, which Numba's CUDA target compiles for the
device; on the simulator, which runs kernels as Python over wrapped arrays that compiled CPU
code cannot take, the formula's plain Python, with the formulas it calls made plain too.
"""

import functools
import types

from numba.core import config
from numba.core.dispatcher import Dispatcher

# Threads per block of the one-thread-per-element (or per-row, per-column) kernels.
THREADS = 128


def grid(n):
    """(blocks, threads) for one thread per item of ``n`` items."""
    return max(1, -(-int(n) // THREADS)), THREADS


def device(f):
    """Formula ``f`` as CUDA kernels call it (see the module docstring)."""
    return _plain(f) if config.ENABLE_CUDASIM else f


@functools.cache
def _plain(f):
    if not isinstance(f, Dispatcher):
        return f
    py = f.py_func
    names = dict(py.__globals__)
    for name in py.__code__.co_names:
        if isinstance(names.get(name), Dispatcher):
            names[name] = _plain(names[name])
    return types.FunctionType(py.__code__, names, py.__name__, py.__defaults__, py.__closure__)
