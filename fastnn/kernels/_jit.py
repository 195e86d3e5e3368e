"""The one decorator every compiled CPU entry point uses.

``kernel`` is ``numba.njit`` with fastnn's fast-math flags and NumPy's error model, cached on disk
in fastnn's own folder (fastnn.compile_cache: one folder per kernel-source digest, shared by every
install path) and recorded in ``fastnn.compile_cache.KERNELS``, so that the cache can be prepared
and checked without naming kernels. A kernel must be defined in a file under fastnn/kernels/,
whose contents key the cache folder.

Kernels are compiled without Numba's reference counting (its runtime, NRT): they allocate no
arrays and only work in buffers their caller owns, so every array argument and view outlives the
call and counting references to it (an atomic increment and decrement per array per call) buys
nothing. Two rules follow: a kernel never allocates (no ``np.empty``, ``copy``, ...), and it
returns no array it made; a helper that makes a view is a ``@formula`` (compiled into its
caller), not a kernel.

A kernel is what Python calls. What only kernels call is a ``@formula`` or a ``switch`` case
(fastnn/kernels/table.py): compiled into each kernel that calls it, so that its code is
optimised and turned into machine code once, with that kernel, rather than once on its own and
again in every caller (docs/compile.md measures what that saves in a cold compile).
"""

import numba

from ..compile_cache import register

# Fast-math flags that keep NaN/inf detection working (no 'nnan'/'ninf'): reassociation and
# contraction let LLVM vectorise reductions.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}


def kernel(fn=None, *, fastmath=FASTMATH, nogil=False):
    """``numba.njit`` with fastnn's cache, fast-math flags, NumPy's error model and no
    reference counting; with ``nogil``, calls from Python release the GIL while they run."""

    def decorate(f):
        return register(numba.njit(fastmath=fastmath, error_model="numpy", _nrt=False,
                                   nogil=nogil)(f))

    return decorate(fn) if fn is not None else decorate
