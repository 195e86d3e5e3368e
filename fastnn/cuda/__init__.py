"""The CUDA backend: the CPU engine's kernels as @cuda.jit kernels over the same flat buffers.

Importing this package is cheap: ``numba.cuda`` is imported only by the modules that hold kernels
(activations, matmul, losses, reductions, optimizers, executor, trainer), which fastnn imports
only when a model is asked to run with ``device="cuda"``. See docs/gpu.md.
"""

from .device import NO_GPU_MESSAGE, CudaUnavailableError, resolve_device

__all__ = ["CudaUnavailableError", "NO_GPU_MESSAGE", "resolve_device"]
