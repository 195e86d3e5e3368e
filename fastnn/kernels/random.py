"""Counter-based random bits: a pure function of (seed, step, stream, index), no generator state.

Dropout masks must be identical however the elements are visited (serially, in parallel, on the
CUDA backend), so every random value is computed from its coordinates rather than drawn from a
sequential generator. All arithmetic is on unsigned 64-bit integers modulo 2^64:

    mix64(z)     = the SplitMix64 finalizer (Steele, Lea and Flood 2014; Vigna's splitmix64.c):
                   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
                   z = (z ^ (z >> 27)) * 0x94D049BB133111EB
                   z ^ (z >> 31)
    key(seed, step, stream)
                 = mix64((mix64((mix64(seed + G) ^ step) + G) ^ stream) + G),
                   G = 0x9E3779B97F4A7C15 (the golden-ratio increment of SplitMix64)
    bits(key, i) = mix64(key + (i + 1) G)      (the i-th output of SplitMix64 started at key)

A dropout mask uses seed = the model's seed, step = the update step (0-based), stream = the
op's index in the plan, i = row * width + column within the batch, and keeps an element when
(bits >> 11) >= floor(rate * 2^53): the probability of dropping is floor(rate 2^53) / 2^53.

``mix64``, ``random_bits`` and ``keeps`` are inlined into the CPU kernels and compiled into the
CUDA kernels alike, so both backends draw the same masks.
"""

import numpy as np

from ._jit import kernel
from .table import formula

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
MIX_2 = np.uint64(0x94D049BB133111EB)
SHIFT_1, SHIFT_2, SHIFT_3 = np.uint64(30), np.uint64(27), np.uint64(31)
ONE = np.uint64(1)
# Bits kept for a uniform number in [0, 1): the top 53 of 64.
UNIFORM_SHIFT = np.uint64(11)
TWO_POW_53 = 9007199254740992.0


@formula
def mix64(z):
    """The SplitMix64 finalizer: a bijection of uint64 with good avalanche."""
    z = np.uint64(z)
    z = (z ^ (z >> SHIFT_1)) * MIX_1
    z = (z ^ (z >> SHIFT_2)) * MIX_2
    return z ^ (z >> SHIFT_3)


@kernel
def stream_key(seed, step, stream):
    """The key of one stream of bits, from the model seed, the update step and the stream."""
    k = mix64(np.uint64(seed) + GOLDEN)
    k = mix64((k ^ np.uint64(step)) + GOLDEN)
    return mix64((k ^ np.uint64(stream)) + GOLDEN)


@formula
def random_bits(key, index):
    """64 random bits for element ``index`` of the stream ``key``."""
    return mix64(np.uint64(key) + (np.uint64(index) + ONE) * GOLDEN)


@formula
def keeps(key, index, threshold):
    """True when the dropout mask of stream ``key`` keeps element ``index``."""
    return (random_bits(key, index) >> UNIFORM_SHIFT) >= threshold


@kernel
def keep_threshold(rate):
    """The integer threshold: keep an element when (bits >> 11) >= keep_threshold(rate)."""
    return np.uint64(rate * TWO_POW_53)
