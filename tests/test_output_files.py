"""Output paths (fastnn.output_file, used by save_model and the command): regular files replaced
atomically with the right mode, FIFOs and character devices written as streams and never
replaced, other special files refused, temporary files of killed writers cleaned up."""

import os
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fastnn as fn
from fastnn.output_file import TEMP_PREFIX, OutputError, open_output, output_kind
from fastnn_cli.app import cli
from fastnn_cli.errors import InputError
from fastnn_cli.files import check_outputs, write_atomically

FIXTURES = Path(__file__).parent / "data" / "model_files"
PENGUINS = Path(__file__).parent.parent / "examples" / "penguins.csv"


@pytest.fixture
def umask():
    """Set the umask for one test: ``umask(0o027)``."""
    saved = os.umask(0o022)
    yield os.umask
    os.umask(saved)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    write_atomically(tmp_path / "out.csv", lambda f: f.write("a\n"))
    fn.Sequential([fn.Dense(1)], input_dim=1).save(tmp_path / "m.fnn")
    assert mode_of(tmp_path / "out.csv") == mode_of(tmp_path / "m.fnn") == 0o666 & ~mask


def test_a_replaced_file_keeps_its_mode_and_a_link_is_followed(tmp_path, umask):
    umask(0o077)
    target = tmp_path / "model.fnn"
    target.write_bytes(b"old")
    target.chmod(0o644)
    link = tmp_path / "latest.fnn"
    link.symlink_to(target)
    fn.Sequential([fn.Dense(1)], input_dim=1).save(link)
    assert link.is_symlink() and mode_of(target) == 0o644
    assert fn.load_model(link).count_params() == 2


def fifo_reader(path):
    """Read the FIFO ``path`` in a thread; returns a callable giving the bytes read."""
    received = []
    thread = threading.Thread(target=lambda: received.append(Path(path).read_bytes()))
    thread.start()

    def result():
        thread.join(10)
        return received[0]
    return result


def test_a_fifo_is_written_as_a_stream_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    read = fifo_reader(fifo)
    write_atomically(fifo, lambda f: f.write("x,y\r\n1,2\n"))
    assert read() == b"x,y\r\n1,2\n" and stat.S_ISFIFO(os.stat(fifo).st_mode)
    read = fifo_reader(fifo)
    model = fn.Sequential([fn.Dense(2)], input_dim=3)
    model.save(fifo)  # an unseekable stream: the archive is written in one pass
    (tmp_path / "copy.fnn").write_bytes(read())
    assert fn.load_model(tmp_path / "copy.fnn").params.tobytes() == model.params.tobytes()
    assert sorted(os.listdir(tmp_path)) == ["copy.fnn", "pipe"]


def test_dev_null_is_written_and_stays_a_device():
    write_atomically("/dev/null", lambda f: f.write("ignored"))
    fn.Sequential([fn.Dense(1)], input_dim=1).save("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_file_named_through_proc_is_written_in_place(tmp_path):
    """/dev/stdout of a process whose output goes to a file resolves through /proc/self/fd;
    that file is written, not replaced (its inode stays)."""
    target = tmp_path / "out.txt"
    target.write_text("old contents\n")
    inode = os.stat(target).st_ino
    with open(target, "rb") as held:
        proc_path = f"/proc/self/fd/{held.fileno()}"
        assert output_kind(proc_path) == "stream"
        write_atomically(proc_path, lambda f: f.write("new\n"))
    assert os.stat(target).st_ino == inode and target.read_text().startswith("new\n")
    assert os.listdir(tmp_path) == ["out.txt"]


def test_dash_is_standard_output(capsys):
    write_atomically("-", lambda f: f.write("a,b\n"))
    assert capsys.readouterr().out == "a,b\n"


def test_folders_sockets_are_refused(tmp_path):
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    try:
        for path, what in ((tmp_path / "sock", "a socket"), (tmp_path, "a folder")):
            with pytest.raises(OutputError, match=f"is {what}, not a file fastnn can write"):
                output_kind(path)
            with pytest.raises(InputError, match=f"--out {path}: is {what}"):
                check_outputs({"--out": str(path)}, [])
            with pytest.raises(ValueError, match=what):
                fn.Sequential([fn.Dense(1)], input_dim=1).save(path)
    finally:
        sock.close()


def test_check_outputs_accepts_streams_and_still_protects_inputs(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    check_outputs({"--out": str(fifo), "--history": "/dev/null", "--plot": "-"}, [])
    (tmp_path / "data.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match="is an input file"):
        check_outputs({"--out": str(tmp_path / "data.csv")}, [str(tmp_path / "data.csv")])
    with pytest.raises(InputError, match="name the same file"):
        check_outputs({"--out": "-", "--history": "-"}, [])
    with pytest.raises(InputError, match="does not exist"):
        check_outputs({"--out": str(tmp_path / "no" / "x.csv")}, [])


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")

    def fail(f):
        f.write("half")
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        write_atomically(path, fail)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["out.csv"]


KILLED_SAVE = """
import os, signal, sys
from fastnn.output_file import open_output
with open_output(sys.argv[1]) as f:
    f.write(b"half a model")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_temporary_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "m.fnn"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)])
    assert writer.wait() == -signal.SIGKILL
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith(f"{TEMP_PREFIX}{writer.pid}-")
    alive = tmp_path / f"{TEMP_PREFIX}1-0123456789ab.fnn"  # pid 1 runs: a save in progress
    alive.write_bytes(b"")
    fn.Sequential([fn.Dense(1)], input_dim=1).save(path)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.fnn", alive.name])


def test_the_command_writes_predictions_to_a_fifo_and_dev_null(tmp_path):
    model = str(FIXTURES / "cli_penguins_multiclass.fnn")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    read = fifo_reader(fifo)
    result = CliRunner().invoke(cli, ["predict", model, str(PENGUINS), "--out", str(fifo)])
    assert result.exit_code == 0, result.output
    assert read() == (FIXTURES / "cli_penguins_multiclass.csv").read_bytes()
    result = CliRunner().invoke(cli, ["predict", model, str(PENGUINS), "--out", "/dev/null"])
    assert result.exit_code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    result = CliRunner().invoke(cli, ["predict", model, str(PENGUINS),
                                      "--out", str(tmp_path / "sock")])
    sock.close()
    assert result.exit_code == 2 and "is a socket" in result.stderr


def test_open_output_streams_binary_to_stdout(capsysbinary):
    with open_output("-") as f:
        np.save(f, np.arange(3))
    assert capsysbinary.readouterr().out.startswith(b"\x93NUMPY")
