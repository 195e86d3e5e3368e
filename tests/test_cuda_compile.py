"""Every CUDA kernel compiles for a real GPU (to PTX), not just on the simulator.

The simulator runs kernels as Python, so it accepts code that the CUDA compiler rejects. This test
compiles every kernel of fastnn/cuda for compute capability 8.0 in a child process with the
simulator off. It needs NVVM (libnvvm from a CUDA toolkit, e.g. the one `pip install
"fastnn[cuda]"` brings) but no GPU, and is skipped where NVVM is missing.
"""

import os
import subprocess
import sys

import pytest

from fastnn.cuda.simulator import ENV

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# kernel -> its argument types, one letter each: M a 2-D C-contiguous array of the model's dtype,
# V 1-D of the model's dtype, F a scalar of the model's dtype, S 2-D float64, s 1-D float64,
# o 1-D int64, i int64, u uint64, f float64, b boolean. A kernel added to fastnn/cuda needs a row
# here (the test checks that).
SIGNATURES = {
    "activations.softmax_rows": "Mi",
    "activations.elementwise_backward": "iMMif",
    "activations.softmax_backward_rows": "MMi",
    "matmul.tiled_matmul": "MMMiiibbVbif",
    "matmul.column_sums_kernel": "MiV",
    "losses.loss_rows": "iMMMifbifS",
    "reductions.accumulate_batch": "Siiffis",
    "optimizers.sgd_kernel": "VVMsFbFF",
    "optimizers.adagrad_kernel": "VVMsFFF",
    "optimizers.adadelta_kernel": "VVMsFFFFF",
    "optimizers.rmsprop_kernel": "VVMsFFFbFFFbi",
    "optimizers.adam_kernel": "VVMsFbFFFFFFF",
    "optimizers.nadam_coefficients": "MfFffV",
    "optimizers.nadam_kernel": "VVMsVFFFFFFF",
    "clipping.clip_by_value_kernel": "VF",
    "clipping.norm_scale": "sfV",
    "clipping.scale_kernel": "VV",
    "reductions.partial_sums_of_squares": "Vs",
    "reductions.sum_partials": "sis",
    "trainer.gather_rows": "MoiiM",
    "activations.apply_kernel": "MMiif",
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
    "regularization.penalty_total_kernel": "Siffisis",
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
signatures = json.loads(sys.argv[1])
kernels = {}
for module_name in ("activations", "matmul", "losses", "reductions", "optimizers", "clipping",
                    "trainer", "dropout", "batchnorm", "prelu", "maxout", "regularization"):
    module = importlib.import_module("fastnn.cuda." + module_name)
    for name, obj in vars(module).items():
        options = getattr(obj, "targetoptions", None)
        if options is not None and not options.get("device") and obj.__module__ == module.__name__:
            kernels[module_name + "." + name] = obj
failures = {}
for dtype in (types.float32, types.float64):
    kernels["matmul.tiled_matmul"] = importlib.import_module("fastnn.cuda.matmul")._tiled_kernel(
        dtype.name)
    letters = {"M": dtype[:, ::1], "V": dtype[::1], "F": dtype, "S": types.float64[:, ::1],
               "s": types.float64[::1], "o": types.int64[::1], "i": types.int64, "u": types.uint64,
               "f": types.float64, "b": types.boolean}
    for name, kernel in kernels.items():
        if name not in signatures:
            continue
        try:
            cuda.compile_ptx(kernel.py_func, tuple(letters[c] for c in signatures[name]),
                             cc=(8, 0))
        except Exception as exc:
            failures[f"{name} ({dtype})"] = f"{type(exc).__name__}: {exc}"[:2000]
print(json.dumps({"kernels": sorted(kernels), "failures": failures,
                  "implementation": getattr(cuda, "implementation", "?")}))
"""


def test_every_kernel_compiles_to_ptx():
    import json

    env = dict(os.environ, **{ENV: "0"})
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SIGNATURES)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    assert sorted(SIGNATURES) == result["kernels"], "a kernel has no row in SIGNATURES"
    assert result["failures"] == {}
