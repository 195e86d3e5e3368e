"""Reading CSV tables and writing output files safely.

Reading uses pandas with the pyarrow engine (a header row, quoted fields, CRLF line endings,
``NA``/empty cells as missing); a ragged row is an error there, not silently padded.
Every output path is checked before any work starts, and every regular file is written
atomically (fastnn.output_file: a temporary file in the same folder, renamed over the target), so
a failed run never leaves a half-written file or replaces one the user had.
"""

import os

from .errors import InputError

SNIFF_BYTES = 8192


def read_table(path):
    """The CSV file at ``path`` as a pandas DataFrame with at least one row; InputError saying
    what is wrong with a missing, empty, binary, malformed or header-only file."""
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise InputError(f"{path}: the file is empty")
    if b"\0" in head:
        raise InputError(f"{path}: not a CSV file (it contains binary data)")
    try:
        frame = pd.read_csv(path, engine="pyarrow")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a CSV file (it is not UTF-8 text)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        detail = str(exc).replace("CSV parse error: ", "")
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        raise InputError(f"{path}: malformed CSV ({detail})") from None
    for name in frame.columns:
        if any(isinstance(v, bytes) for v in frame[name].dropna().head(1)):
            raise InputError(f"{path}: not a CSV file (it is not UTF-8 text)")
    frame.columns = [str(name).strip() for name in frame.columns]
    if len(frame) == 0:
        raise InputError(f"{path}: the file has a header but no data rows")
    return frame


def check_outputs(outputs, inputs):
    """Refuse, before any work, output paths that could not be written or would clobber an input.

    ``outputs`` maps an option name to a path (None: not requested); ``inputs`` are the paths read.
    A FIFO, a character device (such as /dev/null) or "-" is written as a stream
    (fastnn.output_file); a folder, a socket or another special file is refused.
    """
    from fastnn.output_file import STREAM, OutputError, output_kind

    seen = {}
    inputs = {os.path.realpath(p) for p in inputs}
    for option, path in outputs.items():
        if path is None:
            continue
        try:
            kind = output_kind(path)
        except OutputError as exc:
            raise InputError(f"{option} {exc}") from None
        if path == "-":
            real = "-"
        else:
            real = os.path.realpath(path)
            folder = os.path.dirname(real)
            if kind != STREAM and not os.path.isdir(folder):
                raise InputError(f"{option} {path}: the folder {os.path.dirname(path) or '.'} "
                                 f"does not exist")
            writable = os.access(real, os.W_OK) if os.path.exists(real) else True
            if not writable or (kind != STREAM and not os.access(folder, os.W_OK)):
                raise InputError(f"{option} {path}: not writable")
            if real in inputs:
                raise InputError(f"{option} {path}: is an input file; refusing to overwrite it")
        if real in seen:
            raise InputError(f"{option} and {seen[real]} name the same file {path}")
        seen[real] = option


def write_atomically(path, write, mode="w"):
    """Call ``write(file)`` on the output ``path`` (fastnn.output_file): a regular file is written
    to a temporary file next to it and renamed over it; "-", a FIFO or a character device is
    written as a stream. ``mode`` "w" (text, CSV line endings kept) or "wb"."""
    from fastnn.output_file import open_output

    text = "b" not in mode
    with open_output(path, text=text, newline="" if text else None) as f:
        write(f)
