"""Every CUDA kernel compiles for a real GPU (to PTX), not just on the simulator: the kernels of
fastnn/cuda's modules, and the kernels made from every row of the formula tables (activations,
losses, optimizers; in float32), which compile the shared formulas of fastnn/kernels for the
GPU.

The simulator runs kernels as Python, so it accepts code that the CUDA compiler rejects. This test
compiles them for compute capability 8.0 in a child process with the simulator off. It needs
NVVM (libnvvm from a CUDA toolkit, e.g. the one `pip install "fastnn[cuda]"` brings) but no GPU,
and is skipped where NVVM is missing.
"""

import os
import subprocess
import sys

import pytest

from fastnn.cuda.simulator import ENV

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# kernel -> its argument types, one letter each: M a 2-D C-contiguous array of the model's dtype,
# V 1-D of the model's dtype, F a scalar of the model's dtype, S 2-D float64, s 1-D float64,
# o 1-D int64, i int64, u uint64, f float64, b boolean. A kernel added to a module of fastnn/cuda
# needs a row here (the test checks that); the kernels made per table row are in TABLE_KERNELS.
SIGNATURES = {
    "activations.copy_kernel": "MMi",
    "matmul.column_sums_kernel": "MiV",
    "reductions.accumulate_batch": "Siibfis",
    "reductions.weight_total": "sis",
    "clipping.clip_by_value_kernel": "VF",
    "clipping.norm_scale": "sfV",
    "clipping.scale_kernel": "VV",
    "reductions.partial_sums_of_squares": "Vs",
    "reductions.sum_partials": "sis",
    "trainer.gather_rows": "MoiiM",
    "trainer.gather_weights": "soiis",
    "dropout.dropout_kernel": "MMiuuf",
    "batchnorm.statistics_kernel": "MiVibVifbV",
    "batchnorm.normalize_kernel": "MiVibVM",
    "batchnorm.gradient_sums_kernel": "MMiVibbiVV",
    "batchnorm.input_gradient_kernel": "MMiVVM",
    "batchnorm.update_running_kernel": "ViViifs",
    "prelu.forward_kernel": "MiVM",
    "prelu.slope_gradient_kernel": "MMiV",
    "prelu.input_gradient_kernel": "MMiVM",
    "maxout.bias_and_max_kernel": "MiViM",
    "maxout.route_gradient_kernel": "MMiiM",
    "regularization.penalty_gradient_kernel": "VViiff",
    "regularization.penalty_partials_kernel": "ViiS",
    "regularization.penalty_total_kernel": "Siffsis",
}
# factory -> (the table it is made from, its argument types)
TABLE_KERNELS = {
    "activations.forward_kernel": ("activations", "MVifM"),
    "activations.backward_kernel": ("activations", "MMMif"),
    "losses.loss_rows": ("losses", "MMssMifbifS"),
    "optimizers.update_kernel": ("optimizers", "VVMsfis"),
    "matmul._tiled_kernel": ("activations", "MMMiiibbVbf"),
}

CHILD = r"""
import importlib, json, sys
try:
    from numba.cuda.cudadrv import nvvm
    nvvm.NVVM()
except Exception as exc:
    print(json.dumps({"skip": f"no NVVM: {exc}"}))
    sys.exit(0)
from numba import cuda, types
import numba.cuda.dispatcher as dispatcher

class Device:  # compiling device functions asks for the current device's compute capability
    compute_capability = (8, 0)

dispatcher.get_current_device = lambda: Device()
signatures, table_kernels = json.loads(sys.argv[1]), json.loads(sys.argv[2])
from fastnn.cuda import activations as cu_act
from fastnn.kernels import activations, losses, optimizers
TABLES = {"activations": activations.ACTIVATIONS, "losses": losses.LOSSES,
          "optimizers": optimizers.OPTIMIZERS}
kernels = {}
for module_name in ("activations", "matmul", "losses", "reductions", "optimizers", "clipping",
                    "trainer", "dropout", "batchnorm", "prelu", "maxout", "regularization"):
    module = importlib.import_module("fastnn.cuda." + module_name)
    for name, obj in vars(module).items():
        options = getattr(obj, "targetoptions", None)
        if options is not None and not options.get("device") and obj.__module__ == module.__name__:
            kernels[module_name + "." + name] = obj
failures, compiled = {}, 0
for dtype in (types.float32, types.float64):
    letters = {"M": dtype[:, ::1], "V": dtype[::1], "F": dtype, "S": types.float64[:, ::1],
               "s": types.float64[::1], "o": types.int64[::1], "i": types.int64, "u": types.uint64,
               "f": types.float64, "b": types.boolean}
    # a kernel with no argument of the model's dtype (M, V, F) compiles alike for both: once
    jobs = [(name, kernel.py_func, signatures[name]) for name, kernel in kernels.items()
            if name in signatures
            and (dtype == types.float32 or set(signatures[name]) & set("MVF"))]
    # the formulas are compiled per table row once, in float32 (float64 types them alike)
    for name, (table, letters_of) in (table_kernels.items() if dtype == types.float32 else ()):
        module_name, factory = name.split(".")
        make = getattr(importlib.import_module("fastnn.cuda." + module_name), factory)
        for code, entry in enumerate(TABLES[table]):
            if factory == "backward_kernel" and entry.gradient is None:
                continue
            if factory == "_tiled_kernel":
                if not cu_act.fused_in_matmul(code):
                    continue
                kernel = make(dtype.name, code)
            else:
                kernel = make(code)
            jobs.append((f"{name}[{entry.name}]", kernel.py_func, letters_of))
    for name, py_func, sig in jobs:
        try:
            cuda.compile_ptx(py_func, tuple(letters[c] for c in sig), cc=(8, 0))
            compiled += 1
        except Exception as exc:
            failures[f"{name} ({dtype})"] = f"{type(exc).__name__}: {exc}"[:2000]
print(json.dumps({"kernels": sorted(kernels), "failures": failures, "compiled": compiled}))
"""


def test_every_kernel_compiles_to_ptx():
    import json

    env = dict(os.environ, **{ENV: "0"})
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SIGNATURES),
                          json.dumps(TABLE_KERNELS)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    assert sorted(SIGNATURES) == result["kernels"], "a kernel has no row in SIGNATURES"
    assert result["failures"] == {}
