"""What importing fastnn costs, and that kernels land in the on-disk cache."""

import os
import subprocess
import sys

import fastnn


def test_import_loads_no_optional_dependency():
    code = ("import sys, fastnn; heavy = [m for m in ('click', 'matplotlib', 'torch', 'pandas', "
            "'numba.cuda') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_compiled_kernels_are_cached_on_disk(tmp_path):
    code = ("import numpy as np, fastnn as fn\n"
            "print(fn.kernels_cached())\n"
            "m = fn.Sequential([fn.Dense(2, activation='tanh'), fn.Dense(1)], input_dim=2)\n"
            "m.compile(loss='mse').fit(np.ones((4, 2)), np.ones(4))\n"
            "from fastnn.kernels._jit import CACHE_DIR; print(CACHE_DIR)\n")
    env = dict(os.environ, FASTNN_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    cached_before, cache_dir = out.stdout.split()
    assert cached_before == "False"
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=env, check=True)
    assert again.stdout.split()[0] == "True"
    assert cache_dir.startswith(str(tmp_path))
    names = [f for _, _, files in os.walk(cache_dir) for f in files]
    assert any(f.startswith("training.train_batches") and f.endswith(".nbi") for f in names)


def test_unwritable_cache_folder_falls_back_to_no_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = dict(os.environ, FASTNN_CACHE_DIR=str(blocker / "sub"))
    code = "from fastnn.kernels._jit import CACHE_DIR; import fastnn; print(CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert out.stdout.strip() == "None"


def test_version():
    assert fastnn.__version__
