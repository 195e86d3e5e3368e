"""Launch shapes shared by the CUDA kernels."""

# Threads per block of the one-thread-per-element (or per-row, per-column) kernels.
THREADS = 128


def grid(n):
    """(blocks, threads) for one thread per item of ``n`` items."""
    return max(1, -(-int(n) // THREADS)), THREADS
