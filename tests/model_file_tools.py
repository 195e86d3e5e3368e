"""Reading and rewriting the entries of a model file, for tests that craft bad ones."""

import io
import json
import warnings
import zipfile

import numpy as np


def entries(path):
    """{entry name: array} of a model file, read with NumPy (no checks)."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def write_entries(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def rewrite(src, dst, change_config=None, change_arrays=None):
    """Copy the model file ``src`` to ``dst``, calling ``change_config(config)`` and
    ``change_arrays(arrays)`` (in place) on the way."""
    arrays = entries(src)
    if change_config is not None:
        config = json.loads(arrays["config"].tobytes())
        change_config(config)
        arrays["config"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    if change_arrays is not None:
        change_arrays(arrays)
    write_entries(dst, arrays)


def raw_entries(data):
    """[(name, bytes)] of the zip archive ``data`` (the .npy files as stored)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def zip_of(items, compression=zipfile.ZIP_STORED):
    """A zip archive (bytes) of [(name, bytes)]."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a name twice, on purpose
        with zipfile.ZipFile(out, "w", compression=compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return out.getvalue()


def npy_header(shape, descr="<f4"):
    """The bytes of a version 1.0 .npy header declaring ``shape`` and ``descr``."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        out, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return out.getvalue()
