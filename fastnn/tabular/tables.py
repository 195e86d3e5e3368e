"""Reading tables: CSV files (plain or compressed), Parquet files and in-memory data frames.

``read_table(path, sep=None)`` reads by the file name's extension:

    .parquet, .pq                  Parquet (needs pyarrow: pip install 'fastnn[parquet]')
    .gz, .bz2, .xz, .zst           a compressed CSV (.zst needs zstandard: 'fastnn[zstd]')
    anything else                  a CSV file

A CSV file is UTF-8 text (a byte-order mark is allowed): a header row, then one row per record,
fields separated by ``sep``: given, or detected from the first 64 kB among comma, semicolon,
tab and "|" (the one that splits the header and the first rows into the same number of fields,
more than one; comma when none does; a detected separator other than the comma is logged).
Quoted fields, CRLF line endings, empty cells and NA, N/A, NaN, null (missing values) work as
in pandas' C parser. A row with another number of fields than the header is an error, as is a
column name that appears twice once surrounding spaces are removed.

``as_frame(data, sep=None)`` takes what ``TabularModel`` takes: a pandas DataFrame, a path, an
Arrow table or any object with ``to_pandas()``, the Arrow stream interface or
``__dataframe__``, or a dict of columns.

Every problem is a ValueError whose message starts with the file name.
"""

import bz2
import csv
import gzip
import io
import logging
import lzma
import os

log = logging.getLogger("fastnn")

HEAD_BYTES = 65536
SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "'|'"}
PARQUET = (".parquet", ".pq")
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
EXTRAS = {"pyarrow": "parquet", "zstandard": "zstd"}


def install_hint(package, what):
    return f"{what} needs the {package} package: pip install 'fastnn[{EXTRAS[package]}]'"


def read_table(path, sep=None):
    """The table at ``path`` as a DataFrame with at least one row (see the module docstring)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    lower = path.lower()
    if lower.endswith(PARQUET):
        return _read_parquet(path)
    return _read_csv(path, sep, COMPRESSED.get(os.path.splitext(lower)[1]))


def _read_parquet(path):
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(f"{path}: {install_hint('pyarrow', 'reading Parquet files')}") from None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors have no common base class but Exception
        raise ValueError(f"{path}: not a readable Parquet file ({_short(exc)})") from None
    return _checked(frame, path)


def _open(path, compression):
    """A binary stream of the file's (decompressed) bytes."""
    if compression is None:
        return open(path, "rb")
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "bz2":
        return bz2.open(path, "rb")
    if compression == "xz":
        return lzma.open(path, "rb")
    try:
        import zstandard
    except ImportError:
        raise ValueError(f"{path}: {install_hint('zstandard', 'reading .zst files')}") from None
    return zstandard.open(path, "rb")


def _head(path, compression):
    """The first HEAD_BYTES of the decompressed text and whether that is the whole file."""
    stream = _open(path, compression)
    try:
        with stream as f:
            head = f.read(HEAD_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise ValueError(f"{path}: not a readable {compression} file ({_short(exc)})") from None
    except Exception as exc:  # zstandard.ZstdError
        raise ValueError(f"{path}: not a readable {compression} file ({_short(exc)})") from None
    complete = len(head) <= HEAD_BYTES
    head = head[:HEAD_BYTES]
    if not head.strip():
        raise ValueError(f"{path}: the file is empty")
    if b"\0" in head:
        raise ValueError(f"{path}: not a CSV file (it contains binary data)")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(head) - 3:  # not just a character cut at the end
            raise ValueError(f"{path}: not a CSV file (it is not UTF-8 text)") from None
        text = head[:exc.start].decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    return lines


def _rows(lines, sep):
    """The head's lines split into fields with ``sep`` (empty lines skipped); None when the
    quoting does not close within them."""
    try:
        return [row for row in csv.reader(lines, delimiter=sep) if row]
    except csv.Error:
        return None


def detect_separator(lines):
    """The separator that splits every head line into the same number (> 1) of fields, the
    most fields winning and the comma first among equals; the comma when none does."""
    best, best_width = ",", 1
    for sep in SEPARATORS:
        rows = _rows(lines, sep)
        if not rows:
            continue
        width = len(rows[0])
        if width > best_width and all(len(row) == width for row in rows):
            best, best_width = sep, width
    return best


def _check_fields(path, source, sep):
    """ValueError naming the first line whose number of fields differs from the header's
    (``source``: the lines or the open text file)."""
    reader = csv.reader(source, delimiter=sep)
    width = None
    try:
        for row in reader:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                shown = sep.join(row)
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise ValueError(f"{path}: malformed CSV (Expected {width} columns, got "
                                 f"{len(row)} in line {reader.line_num}: {shown})")
    except csv.Error:
        pass  # a quote still open at the end of the head: pandas judges the whole file


def _check_every_row(path, sep, compression):
    """Check every row's number of fields over the whole file (needed only where pandas may
    have padded a short row with missing values)."""
    with _open(path, compression) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        _check_fields(path, text, sep)


def _read_csv(path, sep, compression):
    import pandas as pd

    lines = _head(path, compression)
    if sep is None:
        sep = detect_separator(lines)
        if sep != ",":
            log.info("%s: read as %s-separated (detected; --sep chooses)", path,
                     SEPARATOR_NAMES[sep])
    elif len(sep) != 1:
        raise ValueError(f"the separator must be one character, got {sep!r}")
    rows = _rows(lines, sep)
    if rows:
        _check_names(path, [name.strip() for name in rows[0]])
    _check_fields(path, lines, sep)
    try:
        frame = pd.read_csv(path, sep=sep, engine="c", encoding="utf-8",
                            compression=compression, index_col=False, low_memory=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a CSV file (it is not UTF-8 text)") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed CSV ({_parser_detail(exc)})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise ValueError(f"{path}: not a readable {compression} file ({_short(exc)})") from None
    if len(frame.columns) > 1 and frame.iloc[:, -1].isna().any():
        _check_every_row(path, sep, compression)
    return _checked(frame, path)


def _parser_detail(exc):
    """pandas' "Expected 3 fields in line 5, saw 4" as "Expected 3 columns, got 4 in line 5"."""
    import re

    text = str(exc).strip()
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found:
        width, line, got = found.groups()
        return f"Expected {width} columns, got {got} in line {line}"
    return _short(exc)


def _short(exc):
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_names(path, names):
    seen = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            where = f"{path}: " if path else ""
            raise ValueError(f"{where}the column name {name!r} appears twice (columns "
                             f"{seen[name]} and {position}, spaces around names removed)")
        seen[name] = position


def _checked(frame, path):
    """The frame with stripped string column names; ValueError for duplicates or no rows."""
    names = [str(name).strip() for name in frame.columns]
    _check_names(path, names)
    if len(frame) == 0:
        raise ValueError(f"{path}: the file has a header but no data rows" if path
                         else "the table has no rows")
    frame = frame.copy(deep=False)
    frame.columns = names
    return frame


def as_frame(data, sep=None):
    """A pandas DataFrame from what TabularModel takes (module docstring); a DataFrame's
    values are not copied."""
    import pandas as pd

    if isinstance(data, (str, os.PathLike)):
        return read_table(data, sep)
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, dict):
        frame = pd.DataFrame(data)
    elif hasattr(data, "to_pandas"):
        frame = data.to_pandas()
    elif hasattr(data, "__arrow_c_stream__"):
        frame = pd.DataFrame.from_arrow(data)
    elif hasattr(data, "__dataframe__"):
        frame = pd.api.interchange.from_dataframe(data)
    else:
        raise ValueError(f"expected a table with named columns (a pandas DataFrame, a file "
                         f"path, an Arrow table, a dict of columns), got {type(data).__name__}")
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{type(data).__name__} did not convert to a pandas DataFrame")
    return _checked(frame, None)
