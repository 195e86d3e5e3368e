"""SIGTERM behaves like Ctrl-C, and an interrupt at any point is one line: real processes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fastnn as fn

IRIS = Path(__file__).resolve().parent.parent / "examples" / "iris.csv"


def start(*args, cwd):
    """The command in a child process as users run it: without the CUDA simulator that
    conftest.py switches on for this process and its children."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    return subprocess.Popen([sys.executable, "-m", "fastnn_cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def handlers_installed(process):
    """Wait until the child catches SIGTERM: the console script's first step (Linux's
    /proc/PID/status lists the signals a process catches)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(f"/proc/{process.pid}/status") as f:
            caught = int(next(line for line in f if line.startswith("SigCgt:")).split()[1], 16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)
    raise AssertionError("the command did not install its signal handlers")


def test_sigterm_during_training_saves_the_model_and_exits_143(tmp_path):
    process = start("train", IRIS, "--epochs", "100000", "--early-stopping", "0", "--layers",
                    "4", "--cross-fit", "1", "--out", tmp_path / "m.fnn", cwd=tmp_path)
    for line in process.stderr:  # the first epoch's progress line comes at once
        if line.startswith("epoch 1/"):
            break
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 143, rest
    assert "Traceback" not in rest
    assert "terminated (SIGTERM) during epoch" in rest and f"saved the model to " \
                                                           f"{tmp_path / 'm.fnn'}" in rest
    assert len(fn.TabularModel.load(tmp_path / "m.fnn").predict(IRIS)) == 150


def test_sigterm_in_cv_and_sigint_at_start_up_are_one_line(tmp_path):
    cv = start("cv", IRIS, "--folds", "2", "--epochs", "100000", "--early-stopping", "0",
               "--jobs", "1", cwd=tmp_path)
    early = start("train", IRIS, "--out", tmp_path / "never.fnn", cwd=tmp_path)
    handlers_installed(early)
    early.send_signal(signal.SIGINT)  # while the command is still importing its modules
    handlers_installed(cv)
    time.sleep(2.0)
    cv.send_signal(signal.SIGTERM)
    for process, code in ((early, 130), (cv, 143)):
        out, err = process.communicate(timeout=60)
        assert process.returncode == code, err
        assert err.strip().splitlines()[-1] == "Interrupted." and "Traceback" not in err
        assert out == ""
    assert not os.path.exists(tmp_path / "never.fnn")


def test_a_reader_that_stops_early_ends_predict_quietly(tmp_path):
    import pandas as pd

    table = pd.concat([pd.read_csv(IRIS)] * 40)  # 6000 rows: more than a pipe's buffer
    table.to_csv(tmp_path / "big.csv", index=False)
    fn.TabularModel(epochs=1, layers=(2,)).fit(table.head(150)).save(tmp_path / "m.fnn")
    process = start("predict", tmp_path / "m.fnn", tmp_path / "big.csv", "--proba", cwd=tmp_path)
    assert process.stdout.readline().startswith("species,proba_")
    process.stdout.close()  # as `head -1` does
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == ""
