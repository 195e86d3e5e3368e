"""The one decorator every compiled CPU kernel uses.

``kernel`` is ``numba.njit`` with fastnn's fast-math flags and NumPy's error model, cached on disk
in fastnn's own folder (fastnn.compile_cache: one folder per kernel-source digest, shared by every
install path) and recorded in ``fastnn.compile_cache.KERNELS``, so that the cache can be prepared
and checked without naming kernels. A kernel must be defined in a file under fastnn/kernels/,
whose contents key the cache folder.
"""

import numba

from ..compile_cache import register

# Fast-math flags that keep NaN/inf detection working (no 'nnan'/'ninf'): reassociation and
# contraction let LLVM vectorise reductions.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}


def kernel(fn=None, *, fastmath=FASTMATH):
    """``numba.njit`` with fastnn's cache, fast-math flags and NumPy's error model."""

    def decorate(f):
        return register(numba.njit(fastmath=fastmath, error_model="numpy")(f))

    return decorate(fn) if fn is not None else decorate
