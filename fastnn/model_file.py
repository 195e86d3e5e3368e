"""The model file: a NumPy ``.npz`` archive holding the flat buffers and a JSON config.

Entries (all plain numeric arrays; nothing in the file is ever unpickled or executed):
    config       uint8    UTF-8 JSON: format name and version, fastnn version, dtype, seed,
                          input_dim, layers, compile settings, user metadata
    params       dtype    the flat parameter buffer
    state        dtype    the flat non-trainable state (running statistics, ...)
    opt_state    dtype    the optimizer's state rows            (only with include_optimizer)
    iterations   int64    optimizer updates made so far          (only with include_optimizer)

Writes are atomic: the archive is written to a temporary file in the target's folder and renamed
over the target, so a crash while saving never leaves a half-written model over a good one.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from ._version import __version__

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be read: missing, truncated, corrupt, foreign or too new."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def model_config(model, metadata=None, training_config=None):
    """The config entry: the format keys, the model's ``get_config()``, the training state's
    config keys (``training_config``) and the user's metadata."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "fastnn_version": __version__,
            **model.get_config(), **(training_config or {}), "metadata": metadata or {}}


def save_model(model, path, include_optimizer=True, metadata=None):
    """Write ``model`` to ``path`` atomically. ``metadata`` is any JSON-serialisable dict kept in
    the file (the CLI stores its preprocessing there)."""
    if not model.built:
        raise ValueError("the model is not built yet: give input_dim, call build(input_dim) "
                         "or fit it on data first")
    path = os.fspath(path)
    training_arrays, training_config = model.training_state.file_entries(include_optimizer)
    config = model_config(model, metadata, training_config)
    arrays = {"config": np.frombuffer(json.dumps(config).encode(), dtype=np.uint8),
              "params": model.params, "state": model.state, **training_arrays}
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".fnn", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_model_file(path):
    """(config dict, {name: array}) from ``path``, or ModelFileError saying what is wrong."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(path, "no such model file")
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise ModelFileError(path, "not a fastnn model file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise ModelFileError(path, f"not a readable fastnn model file ({exc})") from None
    if "config" not in arrays or arrays["config"].dtype != np.uint8:
        raise ModelFileError(path, "not a fastnn model file (no config entry)")
    try:
        config = json.loads(arrays.pop("config").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(path, f"corrupt config ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(path, "not a fastnn model file (wrong format name)")
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(path, f"written by a newer fastnn (format version {version}; this "
                                   f"fastnn reads up to {FORMAT_VERSION}): upgrade fastnn")
    for name in ("params", "state"):
        if name not in arrays:
            raise ModelFileError(path, f"corrupt: the {name} entry is missing")
    return config, arrays


def load_model(path):
    """Rebuild the model saved at ``path``: layers, weights, compile settings, optimizer state
    (if saved) and metadata (``model.metadata``)."""
    from .model import Sequential

    config, arrays = read_model_file(path)
    try:
        model = Sequential.from_config(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(os.fspath(path), f"corrupt or unsupported config ({exc})") from None
    for name, target in (("params", model.params), ("state", model.state)):
        source = arrays[name]
        if source.shape != target.shape:
            raise ModelFileError(os.fspath(path), f"corrupt: {name} has {source.size} values, "
                                                  f"the architecture needs {target.size}")
        target[...] = source
    expected = None if model.optimizer is None else (model.optimizer.n_slots,
                                                      model.plan.n_params)
    try:
        model.training_state.load_file_entries(arrays, config, expected, model.dtype)
    except ValueError as exc:
        raise ModelFileError(os.fspath(path), f"corrupt: {exc}") from None
    model.metadata = config.get("metadata", {})
    return model
