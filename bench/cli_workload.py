"""B6: the ``fastnn`` command as a whole process, against pandas + PyTorch in one script.

The data: a CSV of ``CSV_ROWS`` rows (100000 at full scale) and 20 columns, 19 numeric
features and a 0/1 label from a fixed random teacher network (bench/workloads.py's recipe),
written once into a temporary folder. fastnn runs ``python -m fastnn_cli train DATA.csv --opt
rmsprop --json --out MODEL`` with every other setting at its default (chosen from the table's
size by fastnn.defaults: 20% validation, early stopping that restores the best weights; at
100000 rows 64,32 ReLU layers, batch 32, up to 100 epochs; at 20000, three layers of 256 with
dropout 0.3), cold (an empty compile cache, FASTNN_CACHE_DIR) and warm (the same cache again).
The peer, bench/torch_csv.py, does the same steps in one PyTorch script with the network, batch
size and number of epochs of the fastnn run (``trained_network``). Both are timed from process
start to exit.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CSV_ROWS = {"full": 100000, "quick": 20000, "tiny": 500}
CSV_FEATURES = 19


def cli_available():
    """None when the fastnn command can run here, else the reason it cannot."""
    if importlib.util.find_spec("fastnn_cli") is None:
        return "not available yet: the `fastnn` command (package fastnn_cli) is not installed"
    return None


def write_csv(path, rows, seed=0):
    """The B6 data set: 19 standard-normal features (on different scales) and a 0/1 label."""
    import pandas as pd

    rng = np.random.default_rng([seed, rows])
    X = rng.standard_normal((rows, CSV_FEATURES))
    w1 = rng.standard_normal((CSV_FEATURES, 32)) / np.sqrt(CSV_FEATURES)
    logits = np.tanh(X @ w1 * 2.0) @ rng.standard_normal(32)
    table = pd.DataFrame(X * rng.uniform(0.5, 20.0, CSV_FEATURES),
                         columns=[f"x{i}" for i in range(CSV_FEATURES)])
    table["label"] = (logits > np.median(logits)).astype(int)
    table.to_csv(path, index=False)


def timed_process(args, env=None, cwd=None):
    """(seconds from start to exit, stdout); RuntimeError with stderr when it fails."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                         cwd=cwd)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
    return seconds, out.stdout


def trained_network(model, root):
    """(hidden widths, dropout rate, batch size) that the fastnn run at ``model`` trained with,
    from ``fastnn info MODEL --json``."""
    _, stdout = timed_process(["-m", "fastnn_cli", "info", model, "--json"], cwd=root)
    settings = json.loads(stdout)["settings"]
    return list(settings["layers"]), float(settings["dropout"] or 0.0), int(settings["batch_size"])


def peer_command(data, epochs, network, out):
    """bench/torch_csv.py's arguments for the run of ``network`` (trained_network's triple)."""
    layers, dropout, batch_size = network
    return ["-m", "bench.torch_csv", data, "--epochs", str(epochs),
            "--layers", ",".join(map(str, layers)), "--dropout", str(dropout),
            "--batch-size", str(batch_size), "--out", out]


def measure_cli(scale, repeats):
    reason = cli_available()
    if reason:
        return {"unavailable": reason}
    from . import runner

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory(prefix="fastnn-b6-") as tmp:
        data = os.path.join(tmp, "data.csv")
        write_csv(data, CSV_ROWS[scale])
        env = dict(os.environ, FASTNN_CACHE_DIR=os.path.join(tmp, "cache"))
        command = ["-m", "fastnn_cli", "train", data, "--opt", "rmsprop", "--json",
                   "--out", os.path.join(tmp, "model.fnn")]
        cold, stdout = timed_process(command, env, root)
        result = json.loads(stdout)
        epochs = int(result["epochs"])
        network = trained_network(os.path.join(tmp, "model.fnn"), root)
        peer = peer_command(data, epochs, network, os.path.join(tmp, "model.pt"))
        times = runner.alternate({
            "fastnn": lambda: timed_process(command, env, root),
            "torch": lambda: timed_process(peer, None, root)}, repeats, warm_up=False)
    warm = float(np.median(times["fastnn"]))
    peer_s = float(np.median(times["torch"]))
    return {"rows": CSV_ROWS[scale], "epochs": epochs, "fastnn_cold_s": cold,
            "fastnn_warm_s": warm, "peer_s": peer_s, "times": times,
            "fastnn_result": {k: result[k] for k in ("epochs", "stopped") if k in result},
            "network": network,
            "markdown": markdown(CSV_ROWS[scale], epochs, network, cold, warm, peer_s)}


def markdown(rows, epochs, network, cold, warm, peer):
    layers, dropout, batch_size = network
    shape = ",".join(map(str, layers)) + " ReLU" + (f", dropout {dropout:g}" if dropout else "")
    return (f"`fastnn train data.csv --opt rmsprop` on a {rows}-row, 20-column CSV (19 numeric "
            f"features, a 0/1 label): the defaults for its size trained {shape}, batch "
            f"{batch_size}, and the run stopped after {epochs} epochs (early stopping on the "
            "20% validation rows). The peer reads the same CSV with pandas and trains the same "
            f"network the same way for the same {epochs} epochs in PyTorch eager "
            "(bench/torch_csv.py). Whole processes, from start to exit.\n\n"
            "| | seconds |\n|---|---|\n"
            f"| fastnn, cold compile cache | {cold:.2f} |\n"
            f"| fastnn, warm cache | {warm:.2f} |\n"
            f"| pandas + PyTorch eager | {peer:.2f} |\n"
            f"| fastnn (warm) / peer | {warm / peer:.2f} |")
