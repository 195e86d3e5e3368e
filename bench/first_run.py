"""First run: what a new user waits for, whole processes from start to exit.

    python -m bench.first_run [--rounds 5] [--install] [--warm-only] [--write]

Every timed step is ``fastnn train examples/iris.csv --opt rmsprop`` (or the peer script) as a
separate process, wall clock and CPU time (user + sys of the process and its children):
- install: ``pip install -e .`` of this checkout into a fresh venv with an empty home, with the
  build's kernel compilation and without it (``FASTNN_BUILD_COMPILE=0``); then that venv's first
  train (only with ``--install``: minutes).
- cold JIT first run: an empty cache folder (``FASTNN_CACHE_DIR``), so every kernel compiles.
- ``fastnn compile --dtype float32`` into an empty folder, then the prepared first run.
- warm run: the same folder again; the pandas + scikit-learn script (bench/sklearn_cli_peer.py).
The warm run and the script alternate, the order rotated every round, after one untimed run of
each; one cold and one prepared run per round. ``--warm-only`` measures just the warm run and
the script (in the user's own cache folder). Every process runs with Python's default of
caching bytecode (``PYTHONDONTWRITEBYTECODE`` unset), as an installed command does. ``--write``
saves docs/first_run.json and the section of docs/benchmarks.md (with ``--warm-only``, the
other steps keep their saved figures).
"""

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "examples", "iris.csv")
SECTION = "## First run"
WARM_STEPS = ("warm run", "scikit-learn script")


def user_environment(**overrides):
    """This environment as a user's shell has it: bytecode caching on (not a test runner's
    PYTHONDONTWRITEBYTECODE), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(overrides)
    return env


def timed(args, env=None, cwd=ROOT, python=sys.executable):
    """(wall seconds, CPU seconds) of one process (and its children) from start to exit
    (``env``: default user_environment())."""
    env = user_environment() if env is None else env
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([python, *args], capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {out.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def train_args(out):
    return ["-m", "fastnn_cli", "train", DATA, "--opt", "rmsprop", "--quiet", "--out", out]


def measure_install(tmp):
    """{install: (wall, cpu), install without compiling, first train after install}."""
    results = {}
    for label, compile_at_build in (("install", "1"), ("install, no compile step", "0")):
        home = tempfile.mkdtemp(dir=tmp)
        venv = os.path.join(tmp, f"venv-{compile_at_build}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        python = os.path.join(venv, "bin", "python")
        env = {k: v for k, v in user_environment().items()
               if k not in ("FASTNN_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME",
                            "PYTHONPATH", "VIRTUAL_ENV")}
        env.update(HOME=home, FASTNN_BUILD_COMPILE=compile_at_build)
        results[label] = timed(["-m", "pip", "install", "-q", "-e", ROOT], env, tmp, python)
        if compile_at_build == "1":
            results["first train after install"] = timed(
                train_args(os.path.join(tmp, "install.fnn")), env, tmp, python)
    return results


def measure(rounds, install, warm_only=False):
    with tempfile.TemporaryDirectory(prefix="fastnn-first-run-") as tmp:
        model = os.path.join(tmp, "model.fnn")
        keys = WARM_STEPS if warm_only else ("cold JIT first run", "fastnn compile (float32)",
                                             "prepared first run", *WARM_STEPS)
        times = {key: [] for key in keys}
        script = ["-m", "bench.sklearn_cli_peer", DATA, "--out", os.path.join(tmp, "model.joblib")]
        timed(script)  # untimed: the first run writes the bytecode of bench/
        warm = user_environment()
        if warm_only:
            timed(train_args(model), warm)  # untimed: compiles whatever the cache lacks
        for r in range(rounds):
            if not warm_only:
                cold = user_environment(FASTNN_CACHE_DIR=os.path.join(tmp, f"cold-{r}"))
                times["cold JIT first run"].append(timed(train_args(model), cold))
                warm = user_environment(FASTNN_CACHE_DIR=os.path.join(tmp, f"prepared-{r}"))
                times["fastnn compile (float32)"].append(
                    timed(["-m", "fastnn_cli", "compile", "--dtype", "float32", "-q"], warm))
                times["prepared first run"].append(timed(train_args(model), warm))
            pair = [("warm run", lambda: timed(train_args(model), warm)),
                    ("scikit-learn script", lambda: timed(script))]
            for key, run in pair[r % 2:] + pair[:r % 2]:
                times[key].append(run())
        load = os.getloadavg()[0]
        measured = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        results = {"rounds": rounds, "load_average": load,
                   "steps": {key: dict(summary(values), measured=measured, load_average=load)
                             for key, values in times.items()}}
        if install:
            results["install"] = {key: summary([value])
                                  for key, value in measure_install(tmp).items()}
    results["import"] = import_seconds()
    return results


def summary(values):
    walls, cpus = zip(*values)
    return {"wall": float(np.median(walls)), "wall_min": min(walls), "wall_max": max(walls),
            "cpu": float(np.median(cpus)), "n": len(values)}


def import_seconds(repeats=5):
    """Median cumulative ``import fastnn`` time as ``python -X importtime`` reports it."""
    seconds = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import fastnn"],
                             capture_output=True, text=True, cwd=ROOT, env=user_environment())
        last = [line for line in out.stderr.splitlines() if line.endswith("| fastnn")][-1]
        seconds.append(int(last.split("|")[1]) / 1e6)
    return float(np.median(seconds))


def render(results):
    steps = results["steps"]
    rows = [f"| {key} | {value['cpu']:.2f} | {value['wall']:.2f} ({value['wall_min']:.2f}-"
            f"{value['wall_max']:.2f}) | {value['n']} |" for key, value in steps.items()]
    for key, value in results.get("install", {}).items():
        rows.append(f"| {key} | {value['cpu']:.2f} | {value['wall']:.2f} | 1 |")

    def ratio(a, b, what):
        return f"{steps[a][what] / steps[b][what]:.2f}"

    sessions = {}
    for key, value in steps.items():
        sessions.setdefault((value.get("measured"), value.get("load_average")), []).append(key)
    first, warm = steps.get("prepared first run", {}), steps["warm run"]
    prepared = "- "
    if first and first.get("measured") == warm.get("measured"):
        prepared += (f"prepared first run / warm run: "
                     f"{ratio('prepared first run', 'warm run', 'cpu')} CPU, "
                     f"{ratio('prepared first run', 'warm run', 'wall')} wall; ")

    return "\n".join([
        SECTION,
        "`fastnn train examples/iris.csv --opt rmsprop` as a new user runs it, whole processes "
        "from start to exit (bench/first_run.py): an empty compile cache (cold JIT), a cache "
        "prepared by `fastnn compile --dtype float32` and then its first and later (warm) "
        "runs, and the same job as one pandas + scikit-learn script "
        "(bench/sklearn_cli_peer.py). Median of the rounds (wall: median and range); CPU is "
        "user + sys of the process and its children, the steadier figure on a shared machine.",
        "",
        "| step | CPU s | wall s | rounds |",
        "|---|---|---|---|",
        *rows,
        "",
        f"{prepared}warm run / scikit-learn "
        f"script (measured together): {ratio('warm run', 'scikit-learn script', 'cpu')} CPU, "
        f"{ratio('warm run', 'scikit-learn script', 'wall')} wall; `import fastnn` "
        f"(`python -X importtime`): {results['import'] * 1000:.1f} ms.",
        *(f"- {', '.join(keys)}: measured {when or 'in an earlier session'}, 1-minute load "
          f"average at the end {load or results['load_average']:.1f} (2 cores)."
          for (when, load), keys in sessions.items()),
    ])


def write(results):
    """Save ``results`` (merged into the saved steps) and render them into docs/benchmarks.md."""
    saved = os.path.join(ROOT, "docs", "first_run.json")
    if os.path.exists(saved):
        with open(saved) as f:
            previous = json.load(f)
        for value in previous.get("steps", {}).values():
            value.setdefault("load_average", previous.get("load_average"))
        results = {**previous, **results,
                   "steps": {**previous.get("steps", {}), **results["steps"]}}
    with open(saved, "w") as f:
        json.dump(results, f, indent=1)
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as f:
        text = f.read()
    section = render(results) + "\n\n"
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=^## )", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.replace("## How this was measured", section + "## How this was measured")
    with open(path, "w") as f:
        f.write(text)
    return results


def saved_section(docs_folder):
    """The first-run section from docs/first_run.json, for the report; None when absent."""
    path = os.path.join(docs_folder, "first_run.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return render(json.load(f))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.first_run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--warm-only", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("fastnn") is None:
        raise SystemExit("the fastnn command is not installed (pip install -e .)")
    results = measure(args.rounds, args.install, args.warm_only)
    print(json.dumps(results))
    if args.write:
        results = write(results)
    print(render(results))


if __name__ == "__main__":
    main()
