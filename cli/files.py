"""Writing output files safely (tables are read by fastnn.tabular.tables).

Every output path is checked before any work starts, and every file is written atomically
(a temporary file in the same folder, renamed over the target), so a failed run never leaves a
half-written file or replaces one the user had.
"""

import os
import tempfile

from .errors import InputError


def check_outputs(outputs, inputs):
    """Refuse, before any work, output paths that could not be written or would clobber an input.

    ``outputs`` maps an option name to a path (None: not requested); ``inputs`` are the paths read.
    """
    seen = {}
    inputs = {os.path.realpath(p) for p in inputs}
    for option, path in outputs.items():
        if path is None:
            continue
        real = os.path.realpath(path)
        folder = os.path.dirname(real)
        if os.path.isdir(real):
            raise InputError(f"{option} {path}: is a folder, not a file")
        if not os.path.isdir(folder):
            raise InputError(f"{option} {path}: the folder {os.path.dirname(path) or '.'} "
                             f"does not exist")
        if not os.access(folder, os.W_OK) or (os.path.exists(real)
                                              and not os.access(real, os.W_OK)):
            raise InputError(f"{option} {path}: not writable")
        if real in inputs:
            raise InputError(f"{option} {path}: is an input file; refusing to overwrite it")
        if real in seen:
            raise InputError(f"{option} and {seen[real]} name the same file {path}")
        seen[real] = option


def write_atomically(path, write, mode="w"):
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it over ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, mode, **({"newline": ""} if "b" not in mode else {})) as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
