"""Launch shapes shared by the CUDA kernels, the index of a thread's element, and the formulas as
the kernels call them.

The launch shapes are smaller on Numba's CUDA simulator, which runs every GPU thread as a Python
thread: an element-wise kernel's result does not depend on its block size, nor the matrix
product's on its tile (each thread sums its element in increasing k); a reduction block sums in a
fixed tree whose width is REDUCE_THREADS, so the simulator's sums of many values may round
differently from a GPU's in the last bits, and are as deterministic.

One thread per element of the first ``rows`` rows of a (capacity, cols) array:

    kernel[elements(rows, cols)](...)              the launch
    i, j = element_of_thread(rows, cols)           in the kernel; i < 0 for a spare thread

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

from numba import cuda
from numba.core import config
from numba.core.dispatcher import Dispatcher

# Threads per block of the one-thread-per-item kernels; the side of the matrix product's square
# tile (blocks of TILE x TILE threads); threads of a reduction block (a power of two).
THREADS, TILE, REDUCE_THREADS = (32, 8, 32) if config.ENABLE_CUDASIM else (128, 16, 128)


def grid(n):
    """(blocks, threads) for one thread per item of ``n`` items."""
    return max(1, -(-int(n) // THREADS)), THREADS


def elements(rows, cols):
    """(blocks, threads) for one thread per element of a (rows, cols) block, in row order."""
    return grid(rows * cols)


@cuda.jit(device=True)
def element_of_thread(rows, cols):
    """(i, j): the element of a launch ``elements(rows, cols)`` that this thread handles;
    (-1, -1) for a thread past the last element."""
    k = cuda.grid(1)
    if k >= rows * cols:
        return -1, -1
    i = k // cols
    return i, k - i * cols


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
