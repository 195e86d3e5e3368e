"""B6: ``fastnn train DATA.csv --opt rmsprop`` as a whole process (warm compile cache: the
user's own), and the pandas + PyTorch script doing the same for as many epochs."""

import json
import os

import pytest

from bench.cli_workload import (CSV_ROWS, cli_available, peer_command, timed_process,
                                trained_network, write_csv)
from bench.conftest import run_benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fastnn_run(tmp_path_factory, request):
    """(command, data path, epochs the command made, folder, the network it trained), after
    one untimed run."""
    reason = cli_available()
    if reason:
        pytest.skip(f"B6: {reason}")
    tmp = tmp_path_factory.mktemp("b6")
    data = str(tmp / "data.csv")
    write_csv(data, CSV_ROWS[request.config.getoption("--bench-scale")])
    command = ["-m", "fastnn_cli", "train", data, "--opt", "rmsprop", "--json",
               "--out", str(tmp / "model.fnn")]
    _, stdout = timed_process(command, cwd=ROOT)
    return (command, data, int(json.loads(stdout)["epochs"]), tmp,
            trained_network(str(tmp / "model.fnn"), ROOT))


def test_fastnn_train(benchmark, rounds, fastnn_run):
    command = fastnn_run[0]
    run_benchmark(benchmark, lambda: timed_process(command, cwd=ROOT), rounds, "B6",
                  warmup=False)


def test_pandas_and_torch(benchmark, rounds, fastnn_run):
    pytest.importorskip("torch")
    _, data, epochs, tmp, network = fastnn_run
    peer = peer_command(data, epochs, network, str(tmp / "m.pt"))
    run_benchmark(benchmark, lambda: timed_process(peer, cwd=ROOT), rounds, "B6",
                  warmup=False, epochs=epochs)
