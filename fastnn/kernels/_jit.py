"""The one decorator every compiled kernel uses, and where its on-disk cache lives.

Numba's cache checks only the file a function is defined in, not the files of the kernels it
calls, so a kernel edited in one file could leave a stale compiled caller in another. fastnn
therefore keys its cache folder on a hash of every kernel source file (and the Numba version):
any edit to any kernel starts a fresh folder. The folder is ``$FASTNN_CACHE_DIR`` when set,
else ``$XDG_CACHE_HOME/fastnn`` (``~/.cache/fastnn``). If no folder is writable (a read-only
install and home), kernels are compiled without a cache instead of failing at import.

Numba reads its cache folder when a function is decorated, so the folder is set only while
fastnn's kernels are decorated and then restored: other Numba code in the process is unaffected.
"""

import contextlib
import hashlib
import os
import tempfile

import numba

# Fast-math flags that keep NaN/inf detection working (no 'nnan'/'ninf'): reassociation and
# contraction let LLVM vectorise reductions; see NUMBA_NOTES.md.
FASTMATH = {"reassoc", "contract", "nsz", "arcp", "afn"}

_KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))


def _sources_digest():
    digest = hashlib.sha256(numba.__version__.encode())
    for name in sorted(os.listdir(_KERNEL_DIR)):
        if name.endswith(".py"):
            with open(os.path.join(_KERNEL_DIR, name), "rb") as f:
                digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()[:16]


def _writable_cache_dir():
    base = os.environ.get("FASTNN_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "fastnn",
    )
    path = os.path.join(base, "numba-" + _sources_digest())
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return None
    return path


CACHE_DIR = _writable_cache_dir()


def kernels_cached():
    """True when the compiled training loop of this fastnn version is in the on-disk cache, so a
    first fit loads it instead of compiling (about 15 s on the project's 2-core machine)."""
    if CACHE_DIR is None:
        return False
    for _, _, files in os.walk(CACHE_DIR):
        if any(f.startswith("training.train_batches") and f.endswith(".nbi") for f in files):
            return True
    return False


@contextlib.contextmanager
def fastnn_cache_dir():
    """Point Numba's cache at fastnn's folder while kernels are being decorated."""
    saved = numba.config.CACHE_DIR
    if CACHE_DIR is not None:
        numba.config.CACHE_DIR = CACHE_DIR
    try:
        yield
    finally:
        numba.config.CACHE_DIR = saved


def kernel(fn=None, *, fastmath=FASTMATH):
    """``numba.njit`` with fastnn's cache, fast-math flags and NumPy's error model."""

    def decorate(f):
        with fastnn_cache_dir():
            return numba.njit(
                cache=CACHE_DIR is not None, fastmath=fastmath, error_model="numpy"
            )(f)

    return decorate(fn) if fn is not None else decorate
