"""Numba's CUDA simulator, for running the CUDA path where there is no GPU (tests, trying it).

The simulator runs @cuda.jit kernels in Python threads on the CPU, one per GPU thread (with
smaller launch shapes, fastnn/cuda/_launch.py): it shows that the CUDA path computes the right
numbers, slowly, and says nothing about speed on a GPU. Numba chooses between the GPU target and
the simulator when ``numba.cuda`` is first imported, from the environment variable
NUMBA_ENABLE_CUDASIM, so the choice has to be made before anything imports ``numba.cuda``.

fastnn never picks the simulator by itself: ``device="cuda"`` runs on it only where the user (or
the test suite, through ``use_simulator_without_gpu``) has switched it on.
"""

import ctypes.util
import os
import subprocess
import sys

ENV = "NUMBA_ENABLE_CUDASIM"


def gpu_present():
    """True when Numba can see a CUDA GPU. Asked in a child process, so that this process can
    still choose the simulator; no child is started where no CUDA driver library exists."""
    if not (ctypes.util.find_library("cuda") or os.environ.get("NUMBA_CUDA_DRIVER")):
        return False
    env = dict(os.environ, **{ENV: "0"})
    code = "from numba import cuda; print(cuda.is_available())"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip().endswith("True")


def use_simulator_without_gpu():
    """Switch the simulator on for this process (and its children) when no GPU is present and
    NUMBA_ENABLE_CUDASIM is not set already. Returns True when numba.cuda will be (or already
    is) the simulator. Has no effect once numba.cuda has been imported."""
    if "numba.cuda" not in sys.modules and ENV not in os.environ and not gpu_present():
        os.environ[ENV] = "1"
        if "numba.core.config" in sys.modules:
            # numba was imported already: its config re-reads the environment on each compile,
            # and once here, before numba.cuda reads it.
            from numba.core import config

            config.reload_config()
    from numba.core import config

    return bool(config.ENABLE_CUDASIM)
