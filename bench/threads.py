"""Pin every implementation to the same number of threads (2 by default: the machine's cores).

Thread pools read their size when their library loads, so ``pin`` must run before NumPy,
Numba, PyTorch or JAX is imported (bench/conftest.py and bench/report.py call it first).
Values already in the environment are kept, so a run can be made with other settings.
"""

import os

THREADS = int(os.environ.get("FASTNN_BENCH_THREADS", "2"))

ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def pin(threads=THREADS):
    """Set the thread-count variables of OpenMP, OpenBLAS, MKL and Numba (JAX's CPU client
    sizes its pool from the cores it may use; PyTorch is set by its implementation). fastnn
    runs with its measured per-chunk thread choice (``FASTNN_NUM_THREADS=auto``, see
    fastnn/threads.py), the setting for shared machines such as this one."""
    for var in ENV_VARS:
        os.environ.setdefault(var, str(threads))
    os.environ.setdefault("FASTNN_NUM_THREADS", "auto")
    return threads
