"""Choosing the device: the clear error where no GPU is usable, and what stays unimported.

These run in child processes, because Numba picks the GPU target or the simulator once per
process (the rest of the suite has the simulator switched on by conftest.py where no GPU exists).
"""

import os
import subprocess
import sys

import pytest

from fastnn.cuda.simulator import ENV, gpu_present

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code, **env):
    """Run ``code`` in a child Python at the repository root; its stdout, stripped."""
    child_env = {k: v for k, v in os.environ.items() if k != ENV}
    child_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(gpu_present(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("call", ["fn.Sequential([fn.Dense(1)], device='cuda')",
                                  "fn.Sequential([fn.Dense(1)], input_dim=2).to('cuda')"])
def test_cuda_without_gpu_or_simulator_is_a_clear_value_error(call):
    code = ("import fastnn as fn\n"
            "from fastnn.cuda import CudaUnavailableError\n"
            f"try:\n    {call}\n"
            "except CudaUnavailableError as exc:\n"
            "    print(isinstance(exc, ValueError), exc)\n")
    assert _run(code, **{ENV: "0"}) == "True no CUDA GPU available; use device='cpu'"


def test_cpu_models_never_import_numba_cuda():
    code = ("import sys, numpy as np, fastnn as fn\n"
            "m = fn.Sequential([fn.Dense(2)], input_dim=2, device='cpu').compile(loss='mse')\n"
            "m.fit(np.ones((4, 2)), np.ones((4, 2))); m.predict(np.ones((1, 2))); m.to('cpu')\n"
            "print('numba.cuda' in sys.modules)")
    assert _run(code) == "False"


@pytest.mark.skipif(gpu_present(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("setting,expected", [(None, "True True"), ("0", "False False")])
def test_the_simulator_is_used_only_where_no_gpu_and_no_explicit_setting(setting, expected):
    code = ("from fastnn.cuda.simulator import use_simulator_without_gpu\n"
            "chosen = use_simulator_without_gpu()\n"
            "from numba import cuda\n"
            "print(chosen, cuda.is_available())")
    assert _run(code, **({} if setting is None else {ENV: setting})) == expected
