"""CUDA twin of fastnn/kernels/random.py: the counter-based random bits, as device functions.

    mix64(z)      the SplitMix64 finalizer on uint64 (wrapping arithmetic)
    bits(key, i)  mix64(key + (i + 1) G)

The stream key (seed, step, op index) and the keep threshold are computed on the host by the
CPU kernels and passed to the device kernels, so a dropout mask here is bit for bit the CPU's.
"""

from numba import cuda, uint64

from ..kernels.random import GOLDEN, MIX_1, MIX_2, ONE, SHIFT_1, SHIFT_2, SHIFT_3


@cuda.jit(device=True)
def mix64(z):
    z = (z ^ (z >> SHIFT_1)) * MIX_1
    z = (z ^ (z >> SHIFT_2)) * MIX_2
    return z ^ (z >> SHIFT_3)


@cuda.jit(device=True)
def random_bits(key, index):
    """64 random bits for element ``index`` (an integer) of the stream ``key`` (uint64)."""
    return mix64(key + (uint64(index) + ONE) * GOLDEN)
