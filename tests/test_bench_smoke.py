"""The benchmark suite works: every benchmark runs once at tiny size (timing disabled), and the
report is written with every implementation that can run agreeing on the losses.

The real runs are by hand (python -m bench.report); here only that the code runs and checks.
"""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytest.importorskip("pytest_benchmark")


def run(args, **kwargs):
    """``python ARGS`` at the repository root, its peers on one thread each (the test suite
    already runs one test per core)."""
    env = dict(os.environ, FASTNN_BENCH_THREADS="1")
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env=env, **kwargs)


def test_every_benchmark_runs_once_at_tiny_size():
    out = run(["-m", "pytest", "bench", "--bench-scale", "tiny", "--benchmark-disable", "-q",
               "-p", "no:cacheprovider", "-n", "0", "-rs"])
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout


def test_report_is_written_and_implementations_agree(tmp_path):
    md = tmp_path / "benchmarks.md"
    out = run(["-m", "bench.report", "--scale", "tiny", "--repeats", "1", "--workloads", "B1",
               "--no-cli", "--out", str(md)])
    assert out.returncode == 0, out.stderr[-4000:]
    text = md.read_text()
    for heading in ("## The targets", "### B1", "## B5", "## Width sweep"):
        assert heading in text
    results = json.loads((tmp_path / "benchmarks.json").read_text())
    rows = results["training"][0]["rows"]
    assert "fastnn" in rows and all(row["agrees"] for row in rows.values())
    assert all(row["agrees"] for row in results["inference"]["rows"].values())
    floor = results["inference"]["weights_read"]  # B5's floor: reading the weights alone
    assert floor["p50_us"] > 0 and "reading the weights alone" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "benchmarks.png").stat().st_size > 0


def test_report_rejects_an_unknown_workload():
    out = run(["-m", "bench.report", "--workloads", "B9", "--out", os.devnull])
    assert out.returncode != 0 and "unknown workload" in out.stderr


def test_the_specialised_b1_loop_trains_as_fastnn_does():
    out = run(["-m", "bench.specialised", "--scale", "tiny", "--rounds", "1"])
    assert out.returncode == 0, out.stderr[-2000:]
    diff = float(out.stdout.rsplit("within ", 1)[1])
    assert diff < 1e-5, out.stdout
