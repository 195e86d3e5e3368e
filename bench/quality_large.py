"""The default-settings study's large-table check (``python -m bench.quality --large``).

The command's defaults must stay good on large tables: the table is bench/cli_workload.py's
synthetic CSV recipe (19 numeric features on different scales and a 0/1 label from a fixed
random teacher network) with ``rows`` training rows and a quarter as many test rows drawn from
the same teacher. ``fastnn`` (the command's defaults) and ``fastnn_v0`` (the defaults before the
study, as options) train on it in alternating rounds; each round reports the test accuracy and
the CPU seconds of the train and evaluate processes (CPU time, since the machine is shared).
"""

import os
import shlex
import tempfile

import numpy as np

from . import cli_workload
from . import quality_methods as methods
from .quality_tables import Table


def large_table(path, rows):
    """Write rows + rows // 4 rows with the B6 recipe; the Table and its (train, test) frames."""
    import pandas as pd

    cli_workload.write_csv(path, rows + rows // 4)
    frame = pd.read_csv(path)
    table = Table(f"synthetic{rows}", frame, "label", "binary", source="bench/cli_workload.py")
    return table, frame.iloc[:rows].reset_index(drop=True), frame.iloc[rows:].reset_index(
        drop=True)


def check(rows, rounds, v0_options, log=print):
    """{"rows", "rounds": [{method: {"score", "cpu_seconds", "seconds", "epochs"}}]}."""
    runners = {"fastnn": methods.fastnn_command(),
               "fastnn_v0": methods.fastnn_command(shlex.split(v0_options))}
    out = {"rows": rows, "features": cli_workload.CSV_FEATURES, "rounds": []}
    with tempfile.TemporaryDirectory(prefix="fastnn-quality-large-") as workdir:
        table, train, test = large_table(os.path.join(workdir, "all.csv"), rows)
        for round_ in range(rounds):
            done = {}
            for name in (("fastnn", "fastnn_v0") if round_ % 2 == 0 else
                         ("fastnn_v0", "fastnn")):
                result = runners[name](table, train, test, 0, workdir)
                done[name] = {"score": result.score, "cpu_seconds": round(result.cpu_seconds, 2),
                              "seconds": round(result.seconds, 2), **result.details}
                log(f"{table.name} round {round_} {name:10s} accuracy {result.score:.4f} "
                    f"cpu {result.cpu_seconds:.1f} s, {result.details.get('epochs')} epochs")
            out["rounds"].append(done)
    for name in ("fastnn", "fastnn_v0"):
        out[name] = {key: float(np.mean([r[name][key] for r in out["rounds"]]))
                     for key in ("score", "cpu_seconds", "seconds", "epochs")}
    return out


def report(large):
    """Markdown lines for the check's result."""
    new, old = large["fastnn"], large["fastnn_v0"]
    return (f"| defaults | test accuracy | CPU seconds | epochs |\n|---|---|---|---|\n"
            f"| now (fastnn) | {new['score']:.4f} | {new['cpu_seconds']:.1f} | "
            f"{new['epochs']:.0f} |\n"
            f"| before (fastnn_v0) | {old['score']:.4f} | {old['cpu_seconds']:.1f} | "
            f"{old['epochs']:.0f} |\n\n"
            f"{large['rows']} training rows, {large['features']} features; mean of "
            f"{len(large['rounds'])} alternating rounds; CPU time ratio now/before "
            f"{new['cpu_seconds'] / old['cpu_seconds']:.2f}")
