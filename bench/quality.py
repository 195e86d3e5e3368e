"""The default-settings study: ``python -m bench.quality`` (docs/defaults.md shows its results).

Trains every method of bench/quality_methods.py on every table of bench/quality_tables.py with
three seeds (80/20 train/test split by seed), appends the scores and times to a JSON results
file (a run replaces an earlier one of the same table, method and seed), and prints the
summary tables in Markdown.

    python -m bench.quality                          the whole study (tens of minutes)
    python -m bench.quality --quick                  4 small tables, 1 seed, no RealMLP-TD
    python -m bench.quality --methods fastnn --tables iris,wine --seeds 3
    python -m bench.quality --candidate wide="--layers 256,256,256 --dropout 0.1"
    python -m bench.quality --methods fastnn_budget --tables iris --seeds 1 --budget 60
    python -m bench.quality --large                  the large-table check (100000 rows)
    python -m bench.quality --heldout                the held-out tables (never used to choose a
                                                     default), in docs/quality_heldout.json
    python -m bench.quality --report                 only print the tables of the results file
    python -m bench.quality --report --show fastnn,sklearn_mlp     ... with these methods only

Methods: ``fastnn`` (the command with no options: its defaults), ``fastnn_v0`` (the command
with the defaults it had before this study, spelled out as options), ``fastnn[NAME]`` (a
--candidate's options), ``fastnn_budget`` (the command's time-budget search, ``--budget
SECONDS --ensemble K`` with this script's --budget and --ensemble; run only when named in
--methods), ``sklearn_mlp``, ``hgb`` and ``realmlp_td`` (when pytabkit is installed). Every
method runs on one thread (threadpoolctl's limit in this process; OMP, BLAS and Numba thread
counts of 1 for the fastnn subprocesses; one torch thread for RealMLP-TD).
Before its first timed run on each task kind, a fastnn variant runs once untimed on 300 rows, so
that the times do not include compiling the kernels (--quick skips this; fastnn_budget, whose
run is its budget, is not warmed up).
"""

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time

import numpy as np

from . import quality_methods as methods
from . import quality_tables as tables

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
DEFAULT_RESULTS = os.path.join(DOCS, "quality.json")
HELDOUT_RESULTS = os.path.join(DOCS, "quality_heldout.json")

# The command's defaults before this study, as options (so the baseline stays reproducible).
V0_OPTIONS = ("--layers 64,32 --activation relu --opt adam --schedule constant --epochs 100 "
              "--batch-size 32 --dropout 0 --l2 0 --val-split 0.2 --early-stopping 10")
PEER_ORDER = ("sklearn_mlp", "hgb", "realmlp_td")


def runners(candidates, budget=60.0, ensemble=1):
    """{method name: runner} for the fastnn variants and the peers."""
    found = {"fastnn": methods.fastnn_command(),
             "fastnn_v0": methods.fastnn_command(shlex.split(V0_OPTIONS)),
             "fastnn_budget": methods.fastnn_command(["--budget", f"{budget:g}",
                                                      "--ensemble", str(ensemble)])}
    for name, options in candidates.items():
        found[f"fastnn[{name}]"] = methods.fastnn_command(shlex.split(options))
    found.update(methods.PEERS)
    return found


def run_study(table_names, seeds, method_names, candidates, results, log=print,
              save=lambda results: None, warm_up=True, budget=60.0, ensemble=1):
    """Run each (table, method, seed), store it in ``results["runs"]`` and ``save`` the results
    after each run (a long study keeps what it has done if stopped)."""
    available = runners(candidates, budget, ensemble)
    keyed = {(r["table"], r["method"], r["seed"]): r for r in results["runs"]}
    warmed = set()
    for table_name in table_names:
        table = tables.load(table_name)
        for seed in range(seeds):
            train, test = tables.split(table, seed)
            for method in method_names:
                with tempfile.TemporaryDirectory(prefix="fastnn-quality-") as workdir:
                    if warm_up and method.startswith("fastnn") and method != "fastnn_budget" \
                            and (method, table.task) not in warmed:
                        # untimed: compiles (or loads) the kernels this variant and task use
                        sample = train.sample(min(len(train), 300), random_state=0)
                        available[method](table, sample, test, seed, workdir)
                        warmed.add((method, table.task))
                    result = available[method](table, train, test, seed, workdir)
                keyed[(table_name, method, seed)] = {
                    "table": table_name, "task": table.task, "method": method, "seed": seed,
                    "rows": len(table.frame), "score": result.score,
                    "seconds": round(result.seconds, 3),
                    "cpu_seconds": round(result.cpu_seconds, 3), **result.details,
                    **({"options": candidates[method[7:-1]]} if method.startswith("fastnn[")
                       else {}),
                    **({"budget": budget, "ensemble": ensemble} if method == "fastnn_budget"
                       else {})}
                log(f"{table_name:16s} seed {seed} {method:24s} {result.score:8.4f} "
                    f"{result.seconds:7.2f} s")
                results["runs"] = sorted(keyed.values(),
                                         key=lambda r: (r["table"], r["method"], r["seed"]))
                save(results)
    return results


def summary(results):
    """{(table, method): (mean score, mean seconds, mean CPU seconds, seeds)}."""
    grouped = {}
    for r in results["runs"]:
        grouped.setdefault((r["table"], r["method"]), []).append(r)
    return {key: (float(np.mean([r["score"] for r in runs])),
                  float(np.mean([r["seconds"] for r in runs])),
                  float(np.mean([r["cpu_seconds"] for r in runs])), len(runs))
            for key, runs in grouped.items()}


def method_order(names):
    fastnn = sorted(n for n in names if n.startswith("fastnn"))
    return fastnn + [n for n in PEER_ORDER if n in names]


def report(results, methods_shown=None):
    """Markdown: per table and method the mean score (accuracy or R2), mean wall seconds and
    mean CPU seconds (and the number of seeds where fewer ran than elsewhere); then the mean
    per task kind over the tables every shown method ran on."""
    means = summary(results)
    task_of = {r["table"]: r["task"] for r in results["runs"]}
    shown = method_order(methods_shown or {m for _, m in means})
    most_seeds = max(n for *_, n in means.values())
    table_names = [t for t in tables.ALL if t in task_of]
    lines = ["| table | task | " + " | ".join(shown) + " |",
             "|---|---|" + "---|" * len(shown)]
    for t in table_names:
        cells = []
        for m in shown:
            if (t, m) in means:
                score, seconds, cpu, seeds = means[(t, m)]
                fewer = f", {seeds} seed{'s' * (seeds > 1)}" if seeds < most_seeds else ""
                cells.append(f"{score:.3f} ({seconds:.1f} s, {cpu:.1f} cpu{fewer})")
            else:
                cells.append("-")
        lines.append(f"| {t} | {task_of[t]} | " + " | ".join(cells) + " |")
    for kind, label in (("classification", "mean accuracy"), ("regression", "mean R2")):
        members = [t for t in table_names
                   if (task_of[t] == "regression") == (kind == "regression")
                   and all((t, m) in means for m in shown)]
        if members:
            cells = [f"{np.mean([means[(t, m)][0] for t in members]):.3f} "
                     f"({np.mean([means[(t, m)][1] for t in members]):.1f} s, "
                     f"{np.mean([means[(t, m)][2] for t in members]):.1f} cpu)" for m in shown]
            lines.append(f"| **{label}** ({len(members)} tables) | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(results, method, tolerance_accuracy=0.005, tolerance_r2=0.01):
    """Markdown lines checking ``method`` against the study's targets: per table at least
    scikit-learn's MLP (within the tolerance); the mean gap to RealMLP-TD; the time ratio."""
    means = summary(results)
    task_of = {r["table"]: r["task"] for r in results["runs"]}
    lines = []
    below, gaps, ratios, cpu_ratios = [], {"classification": [], "regression": []}, [], []
    for t, task in task_of.items():
        if (t, method) not in means:
            continue
        score, seconds = means[(t, method)][:2]
        tolerance = tolerance_r2 if task == "regression" else tolerance_accuracy
        if (t, "sklearn_mlp") in means and score < means[(t, "sklearn_mlp")][0] - tolerance:
            below.append(f"{t} ({score:.3f} < {means[(t, 'sklearn_mlp')][0]:.3f})")
        if (t, "realmlp_td") in means:
            kind = "regression" if task == "regression" else "classification"
            gaps[kind].append(means[(t, "realmlp_td")][0] - score)
            ratios.append(seconds / means[(t, "realmlp_td")][1])
            cpu_ratios.append(means[(t, method)][2] / means[(t, "realmlp_td")][2])
    lines.append(f"- below scikit-learn's MLP: {', '.join(below) if below else 'none'}")
    for kind, values in gaps.items():
        if values:
            lines.append(f"- mean gap to RealMLP-TD, {kind}: {np.mean(values):+.4f} "
                         f"({len(values)} tables; positive: RealMLP-TD better)")
    if ratios:
        lines.append(f"- wall time / RealMLP-TD's: median {np.median(ratios):.2f}, "
                     f"max {np.max(ratios):.2f}; CPU time / RealMLP-TD's: median "
                     f"{np.median(cpu_ratios):.2f}, max {np.max(cpu_ratios):.2f}")
    return "\n".join(lines)


def load_results(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"runs": []}


def save_results(path, results):
    results["environment"] = {"python": platform.python_version(), "machine": platform.machine(),
                              "cpus": os.cpu_count(), "threads_per_method": 1,
                              "updated": time.strftime("%Y-%m-%d", time.gmtime())}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def parse_candidate(text):
    name, sep, options = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--candidate takes NAME=OPTIONS, got {text!r}")
    return name, options


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="4 small tables, 1 seed, fastnn and the scikit-learn peers")
    parser.add_argument("--tables", help="comma-separated table names (default: all)")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: 3; --quick: 1)")
    parser.add_argument("--methods", help="comma-separated methods (default: fastnn, "
                                          "fastnn_v0, the candidates and every peer installed)")
    parser.add_argument("--candidate", type=parse_candidate, action="append", default=[],
                        metavar="NAME=OPTIONS", help="a fastnn variant: train options to add")
    parser.add_argument("--heldout", action="store_true",
                        help="the held-out tables (quality_tables.HELDOUT) instead of the "
                             "study's, with their own results file")
    parser.add_argument("--results", help="the JSON results file to update (default: "
                                          "docs/quality.json; with --heldout "
                                          "docs/quality_heldout.json)")
    parser.add_argument("--report", action="store_true",
                        help="print the tables of the results file and run nothing")
    parser.add_argument("--large", type=int, nargs="?", const=100000, metavar="ROWS",
                        help="run the large-table check instead (default 100000 training rows; "
                             "bench/quality_large.py)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds of the large-table check (default 2)")
    parser.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                        help="fastnn_budget's --budget (default 60)")
    parser.add_argument("--ensemble", type=int, default=1, metavar="K",
                        help="fastnn_budget's --ensemble (default 1)")
    parser.add_argument("--show", metavar="METHODS",
                        help="comma-separated methods the report shows (default: every one)")
    parser.add_argument("--check", metavar="METHOD", default="fastnn",
                        help="the method whose targets the report checks (default: fastnn)")
    args = parser.parse_args(argv)
    if args.results is None:
        args.results = HELDOUT_RESULTS if args.heldout else DEFAULT_RESULTS

    results = load_results(args.results)
    if args.large and not args.report:
        from threadpoolctl import threadpool_limits

        from . import quality_large

        with threadpool_limits(1):
            results["large"] = quality_large.check(
                args.large, args.rounds, V0_OPTIONS,
                log=lambda line: print(line, file=sys.stderr, flush=True))
        save_results(args.results, results)
    elif not args.report:
        candidates = dict(args.candidate)
        group = tables.HELDOUT if args.heldout else tables.TABLES
        if args.tables:
            table_names = args.tables.split(",")
        else:
            table_names = list(tables.QUICK if args.quick and not args.heldout else group)
        unknown = [t for t in table_names if t not in group]
        if unknown:
            parser.error(f"unknown table(s) {', '.join(unknown)}; known"
                         f"{' (with --heldout)' if args.heldout else ''}: {', '.join(group)}")
        if args.methods:
            method_names = args.methods.split(",")
        else:
            method_names = ["fastnn", "fastnn_v0", *(f"fastnn[{c}]" for c in candidates),
                            "sklearn_mlp", "hgb"]
            if not args.quick and methods.realmlp_available():
                method_names.append("realmlp_td")
        known = runners(candidates, args.budget, args.ensemble)
        unknown = [m for m in method_names if m not in known]
        if unknown:
            parser.error(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(known)}")
        seeds = args.seeds or (1 if args.quick else 3)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            run_study(table_names, seeds, method_names, candidates, results,
                      log=lambda line: print(line, file=sys.stderr, flush=True),
                      save=lambda results: save_results(args.results, results),
                      warm_up=not args.quick, budget=args.budget, ensemble=args.ensemble)
    if results["runs"]:
        print(report(results, args.show.split(",") if args.show else None))
        print()
        print(targets(results, args.check))
    if results.get("large"):
        from . import quality_large

        print()
        print(quality_large.report(results["large"]))


if __name__ == "__main__":
    main()
