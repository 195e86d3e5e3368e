"""How much memory there is to allocate, and the check made before a large allocation."""

import os


def available_memory():
    """Bytes of memory available to allocate now (None where unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _fits(n_bytes, available):
    return available is None or n_bytes <= 0.75 * available


def fits(n_bytes):
    """True unless ``n_bytes`` exceed what is available, less a quarter kept spare."""
    return _fits(n_bytes, available_memory())


def check_memory(n_bytes, what):
    """ValueError when ``n_bytes`` exceed what is available (less a quarter kept spare)."""
    available = available_memory()
    if not _fits(n_bytes, available):
        raise ValueError(f"{what} needs {n_bytes / 2**30:.1f} GiB, more than the "
                         f"{available / 2**30:.1f} GiB of memory available")
