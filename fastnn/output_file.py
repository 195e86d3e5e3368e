"""Writing an output file safely: what fastnn does with each kind of path it is asked to write.

    regular file or new path   written to a temporary file in the same folder, flushed to disk,
                               then renamed over the path: a reader sees the old file or the new
                               one, never half of one. A new file gets the mode the umask gives
                               (0666 & ~umask); a replaced file keeps its mode. A symbolic link
                               to a regular file is followed (the file it names is replaced).
    "-"                        standard output, written as a stream
    FIFO, character device     opened and written as a stream (never replaced: /dev/null stays
                               a device, a named pipe stays a pipe); so is a path under /dev or
                               /proc that names a regular file (/dev/stdout redirected to one)
    anything else              refused with OutputError: a folder, a socket, a block device

Temporary files are named ``.fastnn-tmp-<pid>-<random><suffix>``; one left by a process that
was killed while writing is removed by the next write into that folder once no process with
that pid runs.
"""

import contextlib
import io
import os
import secrets
import stat
import sys

TEMP_PREFIX = ".fastnn-tmp-"
SYSTEM_FOLDERS = ("/dev/", "/proc/")
STREAM = "stream"
FILE = "file"


class OutputError(ValueError):
    """A path that fastnn refuses to write (a folder, a socket, a block device, ...)."""


def output_kind(path):
    """STREAM for "-", a FIFO or a character device; FILE for a regular file or a path that
    does not exist yet; OutputError for any other kind of file."""
    path = os.fspath(path)
    if path == "-":
        return STREAM
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return FILE
    if stat.S_ISREG(mode):
        # /dev/stdout, /proc/self/fd/1, ...: another process's open file, never replaced
        return STREAM if os.path.abspath(path).startswith(SYSTEM_FOLDERS) else FILE
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
        return STREAM
    what = ("a folder" if stat.S_ISDIR(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a special file")
    raise OutputError(f"{path}: is {what}, not a file fastnn can write")


def temp_path(folder, suffix=""):
    """A fresh temporary file name in ``folder`` carrying this process's pid."""
    return os.path.join(folder, f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}{suffix}")


def _writer_pid(name):
    """The pid in a temporary file's name, or None for any other name."""
    if not name.startswith(TEMP_PREFIX):
        return None
    pid = name[len(TEMP_PREFIX):].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _running(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it runs, as another user
        return True
    return True


def remove_stale_temps(folder):
    """Delete the temporary files in ``folder`` whose writer no longer runs; return their
    names. Files that cannot be deleted are left as they are."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        pid = _writer_pid(entry.name)
        if pid is None or pid == os.getpid() or _running(pid):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            pass
    return removed


def _replace_target(path):
    """The regular file a write to ``path`` replaces: ``path``, or the file a symbolic link
    names; (target, its mode or None for a new file)."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        return target, stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return target, None


class _Stream(io.RawIOBase):
    """A write-only, unseekable view of a binary file: writers such as zipfile then write in
    one pass instead of seeking (a character device reports a position it does not keep)."""

    def __init__(self, target):
        super().__init__()
        self._target = target

    def writable(self):
        return True

    def write(self, data):
        return self._target.write(data)

    def flush(self):
        self._target.flush()


def _stream_writer(binary_file, text, newline):
    buffered = io.BufferedWriter(_Stream(binary_file))
    return io.TextIOWrapper(buffered, newline=newline) if text else buffered


@contextlib.contextmanager
def open_output(path, text=False, newline=None):
    """A writable file for ``path`` (see the module docstring): ``with open_output(p) as f:``.
    The write counts only when the block ends without an exception; a regular file is then
    replaced at once, and on an exception it is left as it was."""
    path = os.fspath(path)
    if output_kind(path) == STREAM:
        if path == "-":
            if text:
                yield sys.stdout
                sys.stdout.flush()
                return
            stream = _stream_writer(sys.stdout.buffer, False, None)
            yield stream
            stream.flush()
            return
        with open(os.open(path, os.O_WRONLY), "wb", buffering=0) as device:
            stream = _stream_writer(device, text, newline)
            yield stream
            stream.flush()
        return
    target, mode = _replace_target(path)
    folder = os.path.dirname(os.path.abspath(target))
    remove_stale_temps(folder)
    suffix = os.path.splitext(target)[1]
    while True:
        tmp = temp_path(folder, suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w" if text else "wb",
                       **({"newline": newline} if text else {})) as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
