"""The machine's limit: float32 GEMM throughput (2048 x 2048 by default), as NumPy runs it and
as a Numba kernel's ``np.dot`` runs it (SciPy's OpenBLAS: the library fastnn's kernels call)."""

import numpy as np


def _numba_dot():
    import numba

    @numba.njit(cache=False)
    def dot_into(a, b, out):
        np.dot(a, b, out)

    return dot_into


def gemm_gflops(size=2048, repeats=5, threads=None):
    """{"numpy": GFLOP/s, "numba": GFLOP/s, "peak": the larger}: medians over ``repeats``, on
    ``threads`` BLAS threads (None: as configured)."""
    if threads is not None:
        import scipy.linalg.cython_blas  # noqa: F401  (loaded, so that the limit reaches it)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads, user_api="blas"):
            return gemm_gflops(size, repeats)
    from .runner import timed

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    numba_dot = _numba_dot()
    numba_dot(a, b, out)
    np.matmul(a, b, out=out)
    flops = 2.0 * size ** 3
    calls = {"numpy": lambda: np.matmul(a, b, out=out), "numba": lambda: numba_dot(a, b, out)}
    result = {}
    for name, call in calls.items():
        result[name] = flops / float(np.median([timed(call) for _ in range(repeats)])) / 1e9
    result["peak"] = max(result.values())
    result["size"] = size
    return result
