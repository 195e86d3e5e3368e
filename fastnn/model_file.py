"""The model file: a NumPy ``.npz`` archive holding the flat buffers and a JSON config.

Entries (all plain numeric arrays; nothing in the file is ever unpickled or executed):
    config       uint8    UTF-8 JSON: format name and version, fastnn version, dtype, seed,
                          input_dim, layers, compile settings, user metadata
    params       dtype    the flat parameter buffer
    state        dtype    the flat non-trainable state (running statistics, ...)
    opt_state    dtype    the optimizer's state rows            (only with include_optimizer)
    iterations   int64    optimizer updates made so far          (only with include_optimizer)

An ensemble file (fastnn.Ensemble, ``save_ensemble``) holds its first network in those entries,
with "fastnn_ensemble" in the config's metadata ({"format_version": 1, "members": K, "combine":
"mean"}), and every other network i = 1 .. K-1 in the entries member<i>_config, member<i>_params
and member<i>_state (no optimizer state).

Writes go through fastnn.output_file: a regular file is replaced atomically (a crash while
saving never leaves a half-written model over a good one).

A model file is untrusted input. ``read_model_file`` checks the whole file before anything is
built or read in full: the zip directory (known entries only, each within its size limit), the
config against fastnn.model_schema, the layers, optimizer and loss it describes, the sizes of
the buffers they need (at most ``max_bytes``: the argument, else the environment variable
FASTNN_MAX_MODEL_BYTES, else DEFAULT_MAX_BYTES), each entry's .npy header (dtype and shape
exactly as the architecture needs), and finally the values (finite real floats only). Every
failure is a ModelFileError naming the file and the entry. In an ensemble file every member
gets the same checks, must agree with the first network (input and output width, dtype, loss),
and the limit applies to all members' buffers together.
"""

import contextlib
import json
import math
import os
import re
import stat
import zipfile
import zlib

import numpy as np

from . import model_schema
from ._version import __version__

FORMAT = "fastnn-model"
FORMAT_VERSION = 1
DEFAULT_MAX_BYTES = 2**30
MAX_CONFIG_BYTES = 64 * 2**20
MAX_HEADER_BYTES = 10000
# Room for the zip and .npy headers (and deflate's worst case) in a file of valid entries.
ARCHIVE_OVERHEAD = 2**20
ENTRIES = ("config", "params", "state", "opt_state", "iterations")
ENSEMBLE_KEY = "fastnn_ensemble"
MEMBER_ENTRY = re.compile(r"member([1-9][0-9]{0,5})_(config|params|state)")
# What reading a damaged archive or .npy header raises (zipfile, zlib, numpy.lib.format).
READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               ValueError, NotImplementedError, RuntimeError, SyntaxError, UnicodeDecodeError)


class ModelFileError(ValueError):
    """A model file that cannot be read: missing, truncated, corrupt, foreign, too new, too
    large, or inconsistent. ``entry`` names the part of the file at fault, when there is one."""

    def __init__(self, path, problem, entry=None):
        where = f"{path}: {entry}: " if entry else f"{path}: "
        super().__init__(where + problem)
        self.path = path
        self.problem = problem
        self.entry = entry


def model_config(model, metadata=None, training_config=None):
    """The config entry: the format keys, the model's ``get_config()``, the training state's
    config keys (``training_config``) and the user's metadata."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "fastnn_version": __version__,
            **model.get_config(), **(training_config or {}), "metadata": metadata or {}}


def _entries(model, path, include_optimizer, metadata, prefix=""):
    """{entry name: array} of one network, the names after ``prefix``; ValueError for a model
    not built or with non-finite weights, which no model file may hold."""
    if not model.built:
        raise ValueError("the model is not built yet: give input_dim, call build(input_dim) "
                         "or fit it on data first")
    training_arrays, training_config = model.training_state.file_entries(include_optimizer)
    config = model_config(model, metadata, training_config)
    arrays = {"config": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8),
              "params": model.params, "state": model.state, **training_arrays}
    for name in ("params", "state", "opt_state"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            raise ValueError(f"{path}: not saved: the model's {name} hold NaN or infinite "
                             f"values")
    return {prefix + name: array for name, array in arrays.items()}


def save_model(model, path, include_optimizer=True, metadata=None):
    """Write ``model`` to ``path`` (fastnn.output_file: atomically for a regular file).
    ``metadata`` is any JSON-serialisable dict kept in the file (the CLI stores its
    preprocessing there). ValueError, before anything is written, for non-finite weights,
    which no model file may hold."""
    from .output_file import open_output

    path = os.fspath(path)
    arrays = _entries(model, path, include_optimizer, metadata)
    with open_output(path) as f:
        np.savez(f, **arrays)


def save_ensemble(members, path, metadata=None):
    """Write the networks ``members`` (fastnn.Ensemble's) to ``path`` as one ensemble file
    (module docstring), without optimizer state; ``metadata`` goes with the first network."""
    from .output_file import open_output

    path = os.fspath(path)
    metadata = {**(metadata or {}), ENSEMBLE_KEY: {"format_version": 1, "members": len(members),
                                                   "combine": "mean"}}
    arrays = _entries(members[0], path, False, metadata)
    for i, member in enumerate(members[1:], 1):
        arrays.update(_entries(member, path, False, None, prefix=f"member{i}_"))
    with open_output(path) as f:
        np.savez(f, **arrays)


def max_model_bytes(max_bytes=None):
    """The limit on a loaded model's buffers: ``max_bytes``, else FASTNN_MAX_MODEL_BYTES, else
    DEFAULT_MAX_BYTES (ValueError for a setting that is not a positive integer)."""
    if max_bytes is None:
        setting = os.environ.get("FASTNN_MAX_MODEL_BYTES")
        if not setting:
            return DEFAULT_MAX_BYTES
        try:
            max_bytes = int(setting)
        except ValueError:
            raise ValueError(f"FASTNN_MAX_MODEL_BYTES must be a positive integer, got "
                             f"{setting!r}") from None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) \
            or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}")
    return int(max_bytes)


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


class _Reader:
    """One model file being checked: ``fail(problem, entry)`` raises its ModelFileError."""

    def __init__(self, path, max_bytes):
        self.path = path
        self.max_bytes = max_bytes
        self.needed = 0  # bytes of the buffers of the networks checked so far

    def fail(self, problem, entry=None):
        raise ModelFileError(self.path, problem, entry)

    # ------------------------------------------------------------------ the archive
    def open(self, f):
        """The zip directory: {entry name: ZipInfo}, every entry known and within limits."""
        if f.read(4) != b"PK\x03\x04":
            self.fail("not a fastnn model file (not an .npz archive)")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except READ_ERRORS as exc:
            self.fail(f"not a readable fastnn model file ({exc})")
        infos = {}
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else None
            if name not in ENTRIES and not MEMBER_ENTRY.fullmatch(name or ""):
                self.fail(f"not a fastnn model file (unexpected entry {info.filename!r})")
            if name in infos:
                self.fail("corrupt: the entry is in the archive twice", name)
            if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                                   zipfile.ZIP_DEFLATED):
                self.fail("corrupt: encrypted or compressed with an unsupported method", name)
            infos[name] = info
        for name in ("config", "params", "state"):
            if name not in infos:
                self.fail(f"corrupt: the {name} entry is missing")
        if ("opt_state" in infos) != ("iterations" in infos):
            self.fail("corrupt: the optimizer state and the iteration count come together; "
                      "one of them is missing", "opt_state")
        self.archive, self.infos = archive, infos
        return infos

    @contextlib.contextmanager
    def entry(self, name):
        """The open entry ``name``; a read error in the block is a ModelFileError naming it."""
        try:
            with self.archive.open(self.infos[name]) as f:
                yield f
        except READ_ERRORS as exc:
            if isinstance(exc, ModelFileError):
                raise
            self.fail(f"corrupt: cannot be read ({exc})", name)

    def header(self, name, f):
        """(shape, fortran_order, dtype, data bytes) from the .npy header of an open entry."""
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read(f, max_header_size=MAX_HEADER_BYTES)
        return shape, fortran, dtype, self.infos[name].file_size - f.tell()

    def array(self, name, kinds, itemsize, shape):
        """The entry ``name`` as an array of ``shape``, after checking its header: the dtype's
        kind in ``kinds`` with ``itemsize`` bytes, the shape, and the entry's size."""
        with self.entry(name) as f:
            found, fortran, dtype, nbytes = self.header(name, f)
            if dtype.kind not in kinds or dtype.itemsize != itemsize or dtype.fields:
                self.fail(f"has dtype {dtype}, expected {self.expected_dtype(kinds, itemsize)}",
                          name)
            if tuple(found) != tuple(shape):
                self.fail(f"has shape {tuple(found)}, the architecture needs {tuple(shape)}",
                          name)
            if nbytes != math.prod(shape) * itemsize:
                self.fail(f"corrupt: {nbytes} bytes of data for shape {tuple(shape)}", name)
            data = f.read(nbytes)
        if len(data) != nbytes:
            self.fail("corrupt: the entry is truncated", name)
        return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")

    @staticmethod
    def expected_dtype(kinds, itemsize):
        return {"f": f"float{8 * itemsize}", "i": f"int{8 * itemsize}"}[kinds[0]]

    # ------------------------------------------------------------------ the config
    def config(self, name="config"):
        info = self.infos[name]
        if info.file_size > MAX_CONFIG_BYTES:
            self.fail(f"is {_size(info.file_size)}, more than the {_size(MAX_CONFIG_BYTES)} a "
                      f"config may have", name)
        with self.entry(name) as f:
            shape, _, dtype, _ = self.header(name, f)
        if dtype != np.uint8 or len(shape) != 1:
            self.fail("not a fastnn model file (the config is not UTF-8 text)", name)
        raw = self.array(name, "u", 1, shape).tobytes()
        try:
            config = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            self.fail(f"corrupt: not UTF-8 text ({exc})", name)
        except RecursionError:
            self.fail("corrupt: the JSON is nested too deeply", name)
        except ValueError as exc:  # json.JSONDecodeError, or an integer of too many digits
            self.fail(f"corrupt: not valid JSON ({exc})", name)
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            self.fail("not a fastnn model file (wrong format name)", None if name == "config"
                      else name)
        version = config.get("format_version")
        if isinstance(version, int) and not isinstance(version, bool) \
                and version > FORMAT_VERSION:
            self.fail(f"written by a newer fastnn (format version {version}; this fastnn "
                      f"reads up to {FORMAT_VERSION}): upgrade fastnn")
        self.check_schema(model_schema.CONFIG_SCHEMA, config, name)
        return config

    def check_schema(self, schema, instance, prefix):
        try:
            error = model_schema.first_error(schema, instance)
        except RecursionError:
            self.fail("corrupt: nested too deeply", prefix)
        if error is not None:
            where, problem = error
            self.fail(problem, f"{prefix}.{where}" if where else prefix)

    # ------------------------------------------------------------------ the architecture
    def architecture(self, config, name="config"):
        """(layer objects, optimizer or None, n_params, n_state, output width) from a valid
        config (the entry ``name``), with the constructors' own range checks; ModelFileError
        naming the setting at fault. The buffers of every network read so far count against
        the limit."""
        from . import layers as layers_mod
        from . import losses, optimizers

        built, width, n_params, n_state = [], config["input_dim"], 0, 0
        for i, layer_config in enumerate(config["layers"]):
            try:
                layer = layers_mod.from_config(layer_config)
                width = layer.build(width)
            except (ValueError, TypeError) as exc:
                self.fail(str(exc), f"{name}.layers[{i}]")
            n_params += sum(math.prod(shape) for _, shape in layer.parameter_shapes())
            n_state += sum(math.prod(shape) for _, shape in layer.state_shapes())
            built.append(layer)
        optimizer = None
        compile_config = config.get("compile")
        if compile_config:
            try:
                optimizer = optimizers.get(compile_config["optimizer"])
            except (ValueError, TypeError) as exc:
                self.fail(str(exc), f"{name}.compile.optimizer")
            try:
                if losses.resolve(compile_config["loss"])[0].name == "huber":
                    losses.Huber(compile_config.get("loss_param", 1.0))
            except (ValueError, TypeError) as exc:
                self.fail(str(exc), f"{name}.compile.loss")
        itemsize = np.dtype(config["dtype"]).itemsize
        slots = optimizer.n_slots if optimizer is not None else 0
        needed = self.needed + (n_params * (2 + slots) + n_state) * itemsize
        if needed > self.max_bytes:
            self.fail(f"the architecture needs {_size(needed)} of buffers, more than the limit "
                      f"of {_size(self.max_bytes)}; to load a model this large, raise the limit "
                      f"(load_model(..., max_bytes=N) or the environment variable "
                      f"FASTNN_MAX_MODEL_BYTES)", f"{name}.layers")
        self.needed = needed
        return built, optimizer, n_params, n_state, width

    def metadata(self, config, input_dim, output_dim):
        """Check the metadata formats fastnn knows (fastnn.model_schema.METADATA_FORMATS)."""
        metadata = config.get("metadata", {})
        for key, versions in model_schema.METADATA_FORMATS.items():
            if key not in metadata:
                continue
            entry = f"config.metadata.{key}"
            stored = metadata[key]
            if not isinstance(stored, dict):
                self.fail(f"is not of type 'object' ({type(stored).__name__})", entry)
            version = stored.get("format_version")
            if not isinstance(version, int) or isinstance(version, bool):
                self.fail(f"{version!r} is not an integer", f"{entry}.format_version")
            if version > max(versions):
                self.fail(f"written by a newer fastnn (format version {version}; this fastnn "
                          f"reads up to {max(versions)}): upgrade fastnn", entry)
            if version not in versions:
                self.fail(f"{version} is not a format version (known: "
                          f"{', '.join(map(str, versions))})", f"{entry}.format_version")
            schema, check = versions[version]
            self.check_schema(schema, stored, entry)
            problem = None if check is None else check(stored, input_dim, output_dim)
            if problem is not None:
                self.fail(problem[1], f"{entry}.{problem[0]}")

    # ------------------------------------------------------------------ the buffers
    def members(self, config):
        """The number of networks in the file (1, or the ensemble's members), after checking
        that the member entries are exactly those the metadata declares."""
        declared = config.get("metadata", {}).get(ENSEMBLE_KEY)
        count = 1 if declared is None else declared["members"]
        for name in self.infos:
            match = MEMBER_ENTRY.fullmatch(name)
            if match and int(match.group(1)) >= count:
                self.fail("corrupt: a member entry the metadata does not declare (it declares "
                          f"{count - 1} member(s) besides the first network)", name)
        for i in range(1, count):
            for part in ("config", "params", "state"):
                if f"member{i}_{part}" not in self.infos:
                    self.fail(f"corrupt: the entry member{i}_{part} is missing (the metadata "
                              f"declares {count} members)", f"config.metadata.{ENSEMBLE_KEY}")
        return count

    def member(self, i, first, first_outputs):
        """(config, optimizer, n_params, n_state) of ensemble member ``i``, checked as the
        first network is and against it."""
        name = f"member{i}_config"
        config = self.config(name)
        if config.get("metadata"):
            self.fail("an ensemble member holds no metadata of its own", f"{name}.metadata")
        _, optimizer, n_params, n_state, outputs = self.architecture(config, name)
        def loss(c):
            compiled = c.get("compile") or {}
            return compiled.get("loss"), compiled.get("loss_param")

        for what, value, expected in (
                ("input_dim", config["input_dim"], first["input_dim"]),
                ("output width", outputs, first_outputs),
                ("dtype", config["dtype"], first["dtype"]),
                ("loss and its parameter", loss(config), loss(first))):
            if value != expected:
                self.fail(f"the member has the {what} {value!r}, the first network "
                          f"{expected!r}: an ensemble's members must agree", name)
        return config, optimizer, n_params, n_state

    def buffers(self, config, optimizer, n_params, n_state, prefix=""):
        itemsize = np.dtype(config["dtype"]).itemsize
        shapes = {"params": (n_params,), "state": (n_state,)}
        if "opt_state" in self.infos and not prefix:
            if optimizer is None:
                self.fail("corrupt: optimizer state saved for a model that is not compiled",
                          "opt_state")
            shapes["opt_state"] = (optimizer.n_slots, n_params)
        arrays = {}
        for name, shape in shapes.items():
            values = self.array(prefix + name, "f", itemsize, shape)
            finite = np.isfinite(values)
            if not finite.all():
                index = np.unravel_index(int(np.argmin(finite)), shape)
                where = index[0] if len(index) == 1 else index
                self.fail(f"holds a non-finite value ({values[index]}) at index {where}",
                          prefix + name)
            arrays[name] = values
        if "iterations" in self.infos and not prefix:
            iterations = self.array("iterations", "i", 8, (1,))
            if iterations[0] < 0:
                self.fail(f"must be >= 0, got {iterations[0]}", "iterations")
            arrays["iterations"] = iterations
        return arrays


def read_model_file(path, max_bytes=None):
    """(config dict, {name: array}) of the (first) network in ``path``, after checking the whole
    file (see the module docstring); ModelFileError saying what is wrong and where."""
    return read_networks(path, max_bytes)[0]


def read_networks(path, max_bytes=None):
    """[(config dict, {name: array}), ...]: every network in ``path`` (one, or an ensemble's
    members in order), after checking the whole file (module docstring)."""
    path = os.fspath(path)
    reader = _Reader(path, max_model_bytes(max_bytes))
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ModelFileError(path, "no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(path, "no such model file (it is a folder)") from None
    except OSError as exc:
        raise ModelFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    with f:
        status = os.fstat(f.fileno())
        if not stat.S_ISREG(status.st_mode):
            reader.fail("no such model file (not a regular file)")
        if status.st_size > reader.max_bytes + MAX_CONFIG_BYTES + ARCHIVE_OVERHEAD:
            reader.fail(f"is {_size(status.st_size)}, more than a model within the limit of "
                        f"{_size(reader.max_bytes)} can be; to load a model this large, raise "
                        f"the limit (load_model(..., max_bytes=N) or the environment variable "
                        f"FASTNN_MAX_MODEL_BYTES)")
        reader.open(f)
        config = reader.config()
        _, optimizer, n_params, n_state, n_out = reader.architecture(config)
        reader.metadata(config, config["input_dim"], n_out)
        networks = [(config, optimizer, n_params, n_state)]
        networks += [reader.member(i, config, n_out) for i in range(1, reader.members(config))]
        return [(network[0], reader.buffers(*network, prefix=f"member{i}_" if i else ""))
                for i, network in enumerate(networks)]


def load_model(path, max_bytes=None):
    """Rebuild the model saved at ``path``: layers, weights, compile settings, optimizer state
    (if saved) and metadata (``model.metadata``); a fastnn.Ensemble of such models for an
    ensemble file. The file is checked whole first (see the module docstring); ``max_bytes``
    raises the limit on the model's buffers (default: the environment variable
    FASTNN_MAX_MODEL_BYTES, else 1 GiB)."""
    from .ensemble import Ensemble

    path = os.fspath(path)
    networks = [_rebuild(path, config, arrays)
                for config, arrays in read_networks(path, max_bytes)]
    if len(networks) == 1:
        return networks[0]
    try:
        return Ensemble(networks, metadata=networks[0].metadata)
    except ValueError as exc:
        raise ModelFileError(path, str(exc)) from None


def _rebuild(path, config, arrays):
    """The Sequential of one checked network."""
    from .model import Sequential

    try:
        model = Sequential.from_config(config)
    except ValueError as exc:
        raise ModelFileError(path, str(exc), "config") from None
    model.params[...] = arrays["params"]
    model.state[...] = arrays["state"]
    expected = None if model.optimizer is None else (model.optimizer.n_slots,
                                                      model.plan.n_params)
    try:
        model.training_state.load_file_entries(arrays, config, expected, model.dtype)
    except ValueError as exc:
        raise ModelFileError(path, str(exc), "opt_state") from None
    model.metadata = config.get("metadata", {})
    return model
