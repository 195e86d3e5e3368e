"""Launch shapes shared by the CUDA kernels.

Float arguments are passed to kernels as float64 NumPy scalars, not Python floats: compiled,
both are float64, but the simulator runs kernels as NumPy code, where a Python float combined
with a float32 value stays float32 (NEP 50) and would round differently from the GPU.
"""

# Threads per block of the one-thread-per-element (or per-row, per-column) kernels.
THREADS = 128


def grid(n):
    """(blocks, threads) for one thread per item of ``n`` items."""
    return max(1, -(-int(n) // THREADS)), THREADS
