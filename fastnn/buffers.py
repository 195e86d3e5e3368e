"""Arrays whose data starts on a cache-line boundary, for the buffers the compiled loops sweep.

    aligned_empty(n, dtype)   a new 1-D array of n items, its first byte at a multiple of
                              ALIGNMENT (64 bytes, one cache line)
    aligned_zeros(n, dtype)   the same, filled with zeros

NumPy aligns a new array's data to 16 bytes only (a large one starts 16 bytes past a page
boundary), so the 32- and 64-byte vector loads of a loop over it straddle two cache lines every
other time or more; starting the data on a line boundary removes those split loads
(docs/engine.md, on prediction, gives what that is worth for the weights).
"""

import numpy as np

ALIGNMENT = 64


def aligned_empty(n, dtype):
    """A new uninitialised 1-D array of ``n`` items of ``dtype`` starting on a 64-byte
    boundary (a view into a slightly larger byte array, which it keeps alive; for n = 0
    there is no data to align)."""
    dtype = np.dtype(dtype)
    nbytes = int(n) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + nbytes].view(dtype)


def aligned_zeros(n, dtype):
    """``aligned_empty(n, dtype)`` filled with zeros."""
    array = aligned_empty(n, dtype)
    array.fill(0)
    return array
