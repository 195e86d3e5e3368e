"""fastnn's on-disk cache of compiled kernels: where it is, what it holds, what compiling costs.

The folder is ``<root>/kernels-<digest>``. The root is ``$FASTNN_CACHE_DIR``, else
``$NUMBA_CACHE_DIR/fastnn``, else ``$XDG_CACHE_HOME/fastnn``, else ``~/.cache/fastnn``; the digest
is a SHA-256 of the Numba version and of every file under fastnn/kernels/ (Numba checks only the
file a function is defined in, so an edit to any kernel starts a new folder). The folder does not
depend on where fastnn is installed: every install of the same kernel sources shares it.

Inside are Numba's own files: per kernel an index (``.nbi``) stamped with a SHA-256 of the
kernel's source file, mapping (signature, CPU name and features, bytecode hash) to a data file
(``.nbc``). Machines with different CPUs can share a folder; each loads only its own entries.
``prepared-<cpu>.json`` (written by fastnn.precompile) lists, per dtype, the kernels and
signatures that a fresh process of that dtype loads; ``kernels_cached`` checks them against
Numba's indexes. The root's ``compile-seconds.json`` keeps, per CPU and dtype, how long the last
preparation that compiled took, for the estimate that ``compile_estimate`` gives.

If the folder cannot be created, kernels compile without a cache (every process compiles
again); if it exists but cannot be written (a read-only image), it is read and new compilations
are not saved.
"""

import contextlib
import hashlib
import importlib
import json
import os
import pkgutil
import re
import shutil
import tempfile
import time

import numba
from numba.core import event
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, _CacheLocator,
                                _SourceFileBackedLocatorMixin)

KERNEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
DTYPES = ("float32", "float64")
# Seconds of a cold compile of one dtype's kernels, every table entry and one model's own entries
# (docs/compile.md gives measured figures): the estimates on a CPU that has not measured its own.
REFERENCE_COMPILE_SECONDS = 30.0
REFERENCE_MODEL_COMPILE_SECONDS = 12.0
# The compile-seconds.json key of a compile of one model's entries in ``dtype``.
MODEL_SCOPE = "{dtype} one model"

FOLDER_PATTERN = re.compile(r"kernels-[0-9a-f]{16}")
# Folders of fastnn releases that keyed the cache on the sources only (numba-<digest>).
OLD_FOLDER_PATTERN = re.compile(r"numba-[0-9a-f]{16}")
TIMINGS_FILE = "compile-seconds.json"

KERNELS = []  # every compiled CPU kernel (a Numba dispatcher), in definition order
_KERNEL_IDS = set()


def cache_root():
    """The folder that holds one cache folder per kernel-source digest (see the module doc)."""
    if os.environ.get("FASTNN_CACHE_DIR"):
        return os.environ["FASTNN_CACHE_DIR"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.path.join(os.environ["NUMBA_CACHE_DIR"], "fastnn")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fastnn")


def sources_digest():
    """SHA-256 (16 hex digits) of the Numba version and every file under fastnn/kernels/."""
    digest = hashlib.sha256(numba.__version__.encode())
    for folder, subfolders, files in os.walk(KERNEL_DIR):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                digest.update(os.path.relpath(path, KERNEL_DIR).encode() + b"\0" + f.read())
    return digest.hexdigest()[:16]


def _usable_folder(path):
    """The cache folder, created when it can be; None when it neither exists nor can be
    created (a folder that exists but cannot be written is still read)."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
        return path
    except OSError:
        return path if os.path.isdir(path) else None


CACHE_DIR = _usable_folder(os.path.join(cache_root(), "kernels-" + sources_digest()))


class _KernelLocator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """Numba's cache locator for fastnn's kernels: every kernel's files in CACHE_DIR, stamped
    with a SHA-256 of the source file (the mixin's stamp), whatever the install path."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno

    def get_cache_path(self):
        return CACHE_DIR

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file)


class _KernelCacheImpl(CompileResultCacheImpl):
    _locator_classes = [_KernelLocator]


class KernelCache(FunctionCache):
    """Numba's per-function cache in fastnn's folder. A compilation that cannot be saved (a
    read-only or full disk) is kept in memory only, instead of failing the call."""

    _impl_class = _KernelCacheImpl

    def load_overload(self, sig, target_context):
        """Numba's load without its refresh of the whole target context (installing every
        typing and lowering registry), which only compiling and object-mode code need:
        kernels are nopython code, and a compile refreshes the context itself."""
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except OSError:
            pass


def register(dispatcher):
    """Record a kernel and give it fastnn's disk cache (when there is a usable folder)."""
    path = os.path.abspath(dispatcher.py_func.__code__.co_filename)
    if os.path.commonpath([path, KERNEL_DIR]) != KERNEL_DIR:
        raise ValueError(f"{dispatcher.py_func.__qualname__} is defined in {path}: compiled "
                         f"kernels must live under {KERNEL_DIR}, whose files key the cache")
    if CACHE_DIR is not None:
        dispatcher._cache = KernelCache(dispatcher.py_func)
    KERNELS.append(dispatcher)
    _KERNEL_IDS.add(id(dispatcher))
    return dispatcher


def kernel_name(dispatcher):
    """'module.qualname' of a kernel, as the prepared lists name it."""
    func = dispatcher.py_func
    return f"{func.__module__.rsplit('.', 1)[-1]}.{func.__qualname__}"


def _codegen():
    from numba.core.registry import cpu_target

    return cpu_target.target_context.codegen()


def cpu_description():
    """(CPU name, feature string) as Numba compiles for here (NUMBA_CPU_NAME/FEATURES apply)."""
    _, name, features = _codegen().magic_tuple()
    return name, features


def cpu_id():
    """A short stable name for this CPU target (hash of Numba's target triple, CPU, features)."""
    return hashlib.sha256(repr(_codegen().magic_tuple()).encode()).hexdigest()[:12]


def cached_signatures(dispatcher):
    """The signatures (as strings) of ``dispatcher`` that its Numba index holds for this CPU and
    the kernel's current source and bytecode, with their data files present."""
    cache = dispatcher._cache
    if not isinstance(cache, KernelCache):
        return set()
    codegen = _codegen()
    magic, code_hashes = codegen.magic_tuple(), cache._index_key(None, codegen)[2]
    try:
        index = cache._cache_file._load_index()
    except Exception:  # an unreadable or foreign index is a miss, as Numba treats it
        return set()
    return {str(key[0]) for key, data_name in index.items()
            if key[1] == magic and key[2] == code_hashes
            and os.path.exists(os.path.join(CACHE_DIR, data_name))}


def used_signatures():
    """{kernel name: [signature strings]} of every kernel that holds a compiled or loaded
    specialisation in this process."""
    return {kernel_name(d): sorted(str(s) for s in d.signatures) for d in KERNELS if d.signatures}


def compile_counts():
    """(specialisations compiled, specialisations loaded from the cache) so far in this
    process, summed over every kernel (Numba's dispatcher statistics)."""
    compiled = sum(sum(d.stats.cache_misses.values()) for d in KERNELS)
    loaded = sum(sum(d.stats.cache_hits.values()) for d in KERNELS)
    return compiled, loaded


def _prepared_path():
    return os.path.join(CACHE_DIR, f"prepared-{cpu_id()}.json")


def read_prepared():
    """{dtype: {"kernels": {name: [signatures]}, ...}} recorded for this CPU, or {}."""
    if CACHE_DIR is None:
        return {}
    try:
        with open(_prepared_path()) as f:
            prepared = json.load(f)
    except (OSError, ValueError):
        return {}
    return prepared if isinstance(prepared, dict) else {}


def record_prepared(dtype, kernels, seconds):
    """Add ``kernels`` ({name: [signatures]}, what a ``dtype`` process held) to the ``dtype``
    list and record how long preparing it took; False when the folder cannot be written.

    A process that compiles holds every kernel it compiled, the ones that its entry points
    call included; a process that loads from the cache holds only the entry points. The list
    keeps the union, so it does not shrink when a later run finds everything cached."""
    prepared = read_prepared()
    merged = {name: set(signatures)
              for name, signatures in prepared.get(dtype, {}).get("kernels", {}).items()}
    for name, signatures in kernels.items():
        merged.setdefault(name, set()).update(signatures)
    prepared[dtype] = {"kernels": {name: sorted(sigs) for name, sigs in merged.items()},
                       "seconds": round(seconds, 3), "cpu": cpu_description()[0],
                       "numba": numba.__version__}
    return _write_json(_prepared_path(), prepared)


def _write_json(path, data):
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def import_kernel_modules():
    """Import every module under fastnn/kernels/, so that KERNELS lists every kernel (``import
    fastnn`` imports them only when a model first needs them)."""
    for module in pkgutil.iter_modules([KERNEL_DIR]):
        importlib.import_module(f"{__package__}.kernels.{module.name}")


def missing_kernels(dtype="float32"):
    """Names of the prepared ``dtype`` kernels that this CPU's cache lacks; None when nothing
    was prepared for ``dtype`` on this CPU (fastnn.precompile, ``fastnn compile``)."""
    check_dtype(dtype)
    import_kernel_modules()
    entry = read_prepared().get(dtype)
    kernels = entry.get("kernels") if isinstance(entry, dict) else None
    if not isinstance(kernels, dict) or not kernels:
        return None  # nothing prepared, or a damaged record
    by_name = {kernel_name(d): d for d in KERNELS}
    missing = []
    for name, signatures in kernels.items():
        dispatcher = by_name.get(name)
        if dispatcher is None or not set(signatures) <= cached_signatures(dispatcher):
            missing.append(name)
    return missing


def kernels_cached(dtype="float32"):
    """True when the kernels a fresh ``dtype`` process needs are compiled in the on-disk cache
    for this fastnn version and CPU (prepared by the install or ``fastnn compile``), so that a
    first fit, predict or evaluate loads them instead of compiling."""
    return missing_kernels(dtype) == []


def check_dtype(dtype):
    """ValueError unless ``dtype`` is one of DTYPES."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")


def _timings_path():
    return os.path.join(cache_root(), TIMINGS_FILE)


def record_compile_seconds(dtype, seconds):
    """Keep how long preparing ``dtype`` (or a MODEL_SCOPE key) took on this CPU when it
    compiled (best effort)."""
    try:
        with open(_timings_path()) as f:
            timings = json.load(f)
    except (OSError, ValueError):
        timings = {}
    timings.setdefault(cpu_id(), {})[dtype] = round(seconds, 1)
    _write_json(_timings_path(), timings)


def measured_compile_seconds(dtype="float32", one_model=False):
    """The seconds that compiling ``dtype`` took when last measured on this CPU, else
    REFERENCE_COMPILE_SECONDS; with ``one_model``, compiling one model's entries only
    (fastnn.kernel_scope), else REFERENCE_MODEL_COMPILE_SECONDS."""
    check_dtype(dtype)
    key = MODEL_SCOPE.format(dtype=dtype) if one_model else dtype
    try:
        with open(_timings_path()) as f:
            return float(json.load(f)[cpu_id()][key])
    except (OSError, ValueError, KeyError, TypeError):
        return REFERENCE_MODEL_COMPILE_SECONDS if one_model else REFERENCE_COMPILE_SECONDS


def compile_estimate(dtype="float32"):
    """None when a ``dtype`` run needs no compiling (``kernels_cached``); else about how many
    seconds it will spend compiling (``measured_compile_seconds``)."""
    return None if kernels_cached(dtype) else measured_compile_seconds(dtype)


class CompileWatch(event.Listener):
    """Counts what Numba compiles of fastnn's kernels while installed (``watch_compiles``):
    ``compiled`` specialisations and ``seconds`` of wall time spent compiling them."""

    def __init__(self, on_start=None):
        self.compiled = 0
        self.seconds = 0.0
        self._on_start = on_start
        self._depth = 0
        self._started = None

    @staticmethod
    def _ours(ev):
        return id(ev.data["dispatcher"]) in _KERNEL_IDS

    def on_start(self, ev):
        if not self._ours(ev):
            return
        if self._depth == 0:
            if self._on_start is not None and self.compiled == 0 and self.seconds == 0.0:
                self._on_start()
            self._started = time.perf_counter()
        self._depth += 1

    def on_end(self, ev):
        if not self._ours(ev):
            return
        self._depth -= 1
        self.compiled += 1
        if self._depth == 0:
            self.seconds += time.perf_counter() - self._started


@contextlib.contextmanager
def watch_compiles(on_start=None):
    """Within the block, count fastnn kernels that Numba compiles (not those loaded from the
    cache); ``on_start()`` is called once, when the first compilation begins. Yields the
    CompileWatch (``.compiled``, ``.seconds``)."""
    watch = CompileWatch(on_start)
    with event.install_listener("numba:compile", watch):
        yield watch


def compiling_message(dtype, one_model):
    """What ``note_compiling`` says: what is compiled, the measured estimate, where it is kept."""
    seconds = measured_compile_seconds(dtype, one_model)
    if CACHE_DIR is None:
        return (f"compiling fastnn's kernels for this CPU (about {seconds:.0f} s; no cache folder "
                f"is usable, so every run compiles them)")
    if one_model:
        return (f"compiling the kernels this model uses for this CPU (about {seconds:.0f} s, "
                f"kept in {CACHE_DIR}; `fastnn compile` prepares those of every model)")
    return (f"compiling fastnn's kernels for this CPU (about {seconds:.0f} s, once: they are "
            f"kept in {CACHE_DIR})")


@contextlib.contextmanager
def note_compiling(say, dtype="float32"):
    """``watch_compiles`` that calls ``say(message)`` once, when Numba starts compiling one of
    fastnn's kernels (never when everything is loaded from the cache); the message says whether
    every table entry or one model's are compiled (fastnn.kernel_scope) and gives the measured
    estimate, which a compile of one model's entries then updates. Yields the CompileWatch."""
    from .kernel_scope import compiles_one_model

    with watch_compiles(on_start=lambda: say(compiling_message(
            dtype, compiles_one_model(dtype)))) as watch:
        yield watch
    if watch.compiled and compiles_one_model(dtype):
        record_compile_seconds(MODEL_SCOPE.format(dtype=dtype), watch.seconds)


def stale_folders(root=None):
    """Cache folders under ``root`` (default: cache_root()) that this fastnn does not read:
    other kernel sources or Numba versions, and older fastnn layouts."""
    root = cache_root() if root is None else root
    current = None if CACHE_DIR is None else os.path.basename(CACHE_DIR)
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [os.path.join(root, name) for name in names
            if (FOLDER_PATTERN.fullmatch(name) or OLD_FOLDER_PATTERN.fullmatch(name))
            and name != current and os.path.isdir(os.path.join(root, name))]


def folder_size(path):
    """Bytes in the files under ``path``."""
    return sum(os.path.getsize(os.path.join(folder, name))
               for folder, _, files in os.walk(path) for name in files)


def clean(root=None):
    """Remove the stale folders (``stale_folders``); returns [(path, bytes)] removed."""
    removed = []
    for path in stale_folders(root):
        size = folder_size(path)
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append((path, size))
    return removed
