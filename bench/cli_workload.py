"""B6: the ``fastnn`` command as a whole process, against pandas + PyTorch in one script.

The data: a CSV of ``CSV_ROWS`` rows (100000 at full scale) and 20 columns, 19 numeric
features and a 0/1 label from a fixed random teacher network (bench/workloads.py's recipe),
written once into a temporary folder. fastnn runs ``python -m fastnn_cli train DATA.csv --opt
rmsprop --json --out MODEL`` with every other setting at its default (64,32 ReLU layers, batch
32, 20% validation, early stopping that restores the best weights, up to 100 epochs), cold (an
empty compile cache, FASTNN_CACHE_DIR) and warm (the same cache again). The peer,
bench/torch_csv.py, does the same steps in one PyTorch script for as many epochs as the fastnn
run made. Both are timed from process start to exit.
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
        peer = ["-m", "bench.torch_csv", data, "--epochs", str(epochs),
                "--out", os.path.join(tmp, "model.pt")]
        times = runner.alternate({
            "fastnn": lambda: timed_process(command, env, root),
            "torch": lambda: timed_process(peer, None, root)}, repeats)
    warm = float(np.median(times["fastnn"]))
    peer_s = float(np.median(times["torch"]))
    return {"rows": CSV_ROWS[scale], "epochs": epochs, "fastnn_cold_s": cold,
            "fastnn_warm_s": warm, "peer_s": peer_s, "times": times,
            "fastnn_result": {k: result[k] for k in ("epochs", "stopped") if k in result},
            "markdown": markdown(CSV_ROWS[scale], epochs, cold, warm, peer_s)}


def markdown(rows, epochs, cold, warm, peer):
    return (f"`fastnn train data.csv --opt rmsprop` on a {rows}-row, 20-column CSV (19 numeric "
            f"features, a 0/1 label): the run stopped after {epochs} epochs (early stopping on "
            "the 20% validation rows). The peer reads the same CSV with pandas and trains the "
            f"same network the same way for the same {epochs} epochs in PyTorch eager "
            "(bench/torch_csv.py). Whole processes, from start to exit.\n\n"
            "| | seconds |\n|---|---|\n"
            f"| fastnn, cold compile cache | {cold:.2f} |\n"
            f"| fastnn, warm cache | {warm:.2f} |\n"
            f"| pandas + PyTorch eager | {peer:.2f} |\n"
            f"| fastnn (warm) / peer | {warm / peer:.2f} |")
