"""Which device a model runs on, and the check that a CUDA GPU is really usable.

``resolve_device("cuda")`` imports ``numba.cuda`` (only then), checks that Numba sees a GPU (or
the simulator, see fastnn/cuda/simulator.py) and launches one tiny kernel, so that a missing
driver, device or compiler shows up as one clear ``CudaUnavailableError`` (a ValueError) rather
than as a Numba traceback in the middle of a fit.
"""

DEVICES = ("cpu", "cuda")
NO_GPU_MESSAGE = "no CUDA GPU available; use device='cpu'"

_checked = []  # the numba.cuda module once the first check has passed


class CudaUnavailableError(ValueError):
    """``device="cuda"`` was asked for where Numba cannot run CUDA kernels."""


def resolve_device(device):
    """The canonical device name; for "cuda", only once a GPU is known to be usable."""
    name = device.lower() if isinstance(device, str) else device
    if name not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if name == "cuda":
        cuda_module()
    return name


def cuda_module():
    """``numba.cuda`` after checking (once per process) that a kernel can be launched."""
    if _checked:
        return _checked[0]
    try:
        from numba import cuda
    except Exception as exc:  # e.g. a numba-cuda install whose CUDA bindings fail to load
        raise CudaUnavailableError(f"{NO_GPU_MESSAGE} (numba.cuda failed to import: {exc})") \
            from None
    try:
        available = cuda.is_available()
    except Exception:
        available = False
    if not available:
        raise CudaUnavailableError(NO_GPU_MESSAGE)
    try:
        _probe(cuda)
    except Exception as exc:
        raise CudaUnavailableError(
            f"{NO_GPU_MESSAGE} (Numba sees a GPU but could not compile or launch a kernel: "
            f"{type(exc).__name__}: {exc})") from None
    _checked.append(cuda)
    return cuda


def _probe(cuda):
    """Compile and launch a one-thread kernel and read its result back."""
    import numpy as np

    @cuda.jit
    def write_one(out):
        out[0] = 1.0

    out = cuda.to_device(np.zeros(1, dtype=np.float32))
    write_one[1, 1](out)
    if out.copy_to_host()[0] != 1.0:
        raise RuntimeError("a test kernel ran but wrote nothing")
