"""Run every workload for fastnn and its peers side by side, in one process, and write the report.

    python -m bench.report                      # full sizes, 5 repeats: docs/benchmarks.md
    python -m bench.report --scale quick        # 20% of the rows (say so in the report)
    python -m bench.report --render results.json  # re-render a saved run's Markdown and chart
    python -m bench.report --inference-only     # measure B5 again into the saved run (the
                                                # JSON next to --out) and re-render it

Implementations of a workload are timed alternately (one epoch each, the order rotated every
round) and summarised by medians, so load from other processes falls on all of them alike; the
ratios compare implementations measured in the same run. Results are also saved as JSON next
to the Markdown, and a PNG chart of the ratios beside it.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

from . import threads

threads.pin()

import numpy as np  # noqa: E402

from . import inference, runner  # noqa: E402
from .gemm import gemm_gflops  # noqa: E402
from .profile import profile_step  # noqa: E402
from . import workloads as wl  # noqa: E402
from .implementations import PEERS  # noqa: E402

INFERENCE_PEERS = ("jax_scan", "torch", "sklearn")
LATENCY_CALLS = {"full": 2000, "quick": 1000, "tiny": 50}
BATCH_ROWS = 10000
SWEEP_ROWS = {"full": 8192, "quick": 4096, "tiny": 256}
# Thread scaling of B5: (rows per call, calls per thread) at each scale; the thread counts.
SCALING_CALLS = {"full": ((1, 2000), (100, 100)), "quick": ((1, 1000), (100, 50)),
                 "tiny": ((1, 20),)}
# The awkward shapes measured at each scale (the smoke test's tiny run: one).
SHAPE_IDS = {"full": None, "quick": None, "tiny": ("S3",)}
SCALING_THREADS = (1, 2, 4)
SWEEP_WIDTHS = {"full": wl.SWEEP_WIDTHS, "quick": wl.SWEEP_WIDTHS, "tiny": (8, 64, 1024)}


def log(message):
    print(message, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the machine
def machine_info():
    cpu = "unknown"
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = line
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "llvmlite", "torch", "jax", "jaxlib", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    import threadpoolctl

    from fastnn import scipy_blas

    scipy_blas.load()  # SciPy's OpenBLAS, the one fastnn's products call, listed below

    blas = sorted({f"{d['prefix']} {d.get('version')}: {d.get('architecture')}"
                   for d in threadpoolctl.threadpool_info() if d["internal_api"] == "openblas"})
    return {"cpu": cpu, "avx512": " avx512f" in flags, "cores": os.cpu_count(),
            "openblas": blas, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "threads": threads.THREADS, "versions": versions, "fastnn_commit": commit,
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}


# ----------------------------------------------------------------------------- B1-B4
def fastnn_warmup(workload_id, scale):
    """fastnn's first epoch in a fresh process, with the on-disk cache warm (bench.warmup)."""
    out = subprocess.run([sys.executable, "-m", "bench.warmup", workload_id, scale],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout)


def measure_training(workload, scale, repeats):
    log(f"{workload.id}: {workload.title}, n={workload.n}")
    load_before = runner.load_average()
    impls, unavailable = runner.make_all(workload)
    check = runner.check_agreement(workload, impls)
    calls = {key: impl.train_epoch for key, impl in impls.items()}
    if "fastnn" in impls:  # fastnn on one thread, alternating with the rest: the scaling
        calls["fastnn_one_thread"] = one_thread(impls["fastnn"].train_epoch)
    times = runner.alternate(calls, repeats)
    flops = workload.flops_per_epoch()
    rows = {}
    for key in impls:
        s = runner.stats(times[key])
        rows[key] = {**s, **check[key], "times": times[key], "samples_per_s": workload.n /
                     s["median"], "gflops": flops / s["median"] / 1e9}
        log(f"  {key:9s} {s['median']:.4f} s/epoch  loss {check[key]['loss_after']:.5f}")
    peers = [rows[k]["median"] for k in PEERS if k in rows]
    for row in rows.values():
        row["ratio_to_best_peer"] = row["median"] / min(peers) if peers else None
    result = {"workload": workload_summary(workload), "rows": rows, "unavailable": unavailable,
              "flops_per_epoch": flops, "load": [load_before, runner.load_average()]}
    if "fastnn" in rows:
        one = runner.stats(times["fastnn_one_thread"])
        result["fastnn_one_thread"] = {**one, "times": times["fastnn_one_thread"],
                                       "speedup": one["median"] / rows["fastnn"]["median"]}
        log(f"  fastnn on one thread {one['median']:.4f} s/epoch")
        result["fastnn_warmup"] = fastnn_warmup(workload.id, scale)
        result["profile"] = profile_step(impls["fastnn"])
    return result


def workload_summary(workload):
    return {"id": workload.id, "title": workload.title, "n": workload.n, "d": workload.d,
            "batch": workload.batch, "optimizer": workload.optimizer.name,
            "layers": describe_layers(workload), "loss": workload.loss}


def describe_layers(workload):
    parts = [str(workload.d)]
    for spec in workload.layers:
        if spec[0] == "dense":
            parts.append(f"{spec[1]}" + ("" if spec[2] == "linear" else f"({spec[2]})"))
        elif spec[0] == "batchnorm":
            parts.append("BN")
        elif spec[0] == "activation":
            parts.append(spec[1])
        elif spec[0] == "dropout":
            parts.append(f"Dropout({spec[1]})")
    return "-".join(parts)


# ----------------------------------------------------------------------------- B5
def measure_inference(scale, repeats):
    workload = wl.at_scale(wl.B3, scale)
    log(f"B5: inference with B3's network ({describe_layers(workload)})")
    X, _, _ = runner.prepare(workload)
    impls, unavailable = runner.make_all(workload, ("fastnn",) + INFERENCE_PEERS,
                                         training=False)
    batch = X[:BATCH_ROWS]
    outputs = {key: impl.predict_proba(batch) for key, impl in impls.items()}
    ref = outputs[next(iter(outputs))] if outputs else None
    n_calls = LATENCY_CALLS[scale]
    singles = [X[i:i + 1] for i in range(min(n_calls, X.shape[0]))]
    floor = {"weights_read": inference.WeightsRead(impls["fastnn"].model.params)} \
        if "fastnn" in impls else {}
    latency = inference.one_row({**impls, **floor}, singles, n_calls)
    calls = {key: impl.predict_proba for key, impl in impls.items()}
    if "fastnn" in impls:
        calls["fastnn_one_thread"] = one_thread(impls["fastnn"].predict_proba)
    batch_times = inference.alternate_settled({key: (lambda p=p: p(batch))
                                               for key, p in calls.items()}, repeats)
    rows = {}
    for key in impls:
        s = runner.stats(batch_times[key])
        rows[key] = {**latency[key], "batch_s": s["median"],
                     "rows_per_s": batch.shape[0] / s["median"],
                     "max_abs_diff": float(np.max(np.abs(outputs[key] - ref))),
                     "agrees": bool(np.allclose(outputs[key], ref, atol=1e-4))}
        log(f"  {key:9s} p50 {rows[key]['p50_us']:.1f} us (CPU {rows[key]['cpu_us']:.1f} us)  "
            f"{rows[key]['rows_per_s']:.0f} rows/s")
    result = {"rows": rows, "unavailable": unavailable, "batch_rows": int(batch.shape[0]),
              "calls": n_calls, "settle_s": runner.SETTLE_S, "load": [runner.load_average()]}
    if "fastnn" in impls:
        params = impls["fastnn"].model.params
        result["fastnn_weights_offset"] = params.ctypes.data % 64
        result["weights_read"] = {**latency["weights_read"], "bytes": params.nbytes}
        log(f"  reading the weights once: p50 {latency['weights_read']['p50_us']:.1f} us")
        one = runner.stats(batch_times["fastnn_one_thread"])["median"]
        result["fastnn_one_thread_rows_per_s"] = batch.shape[0] / one
        result["scaling"] = measure_thread_scaling(impls, X, scale, repeats)
    result["load"].append(runner.load_average())
    return result


def one_thread(call):
    """``call`` with fastnn's BLAS and prediction threads limited to one."""
    import fastnn

    def run(*args):
        saved = fastnn.get_num_threads()
        fastnn.set_num_threads(1)
        try:
            return call(*args)
        finally:
            fastnn.set_num_threads(saved)

    return run


def measure_thread_scaling(impls, X, scale, repeats):
    """[{"rows", "impl", "threads", "rows_per_s"}]: fastnn and JAX called from several Python
    threads at once (a serving process), ``rows`` rows per call."""
    result = []
    for rows, calls in SCALING_CALLS[scale]:
        for key in ("fastnn", "jax_scan"):
            if key in impls:
                rates = inference.thread_scaling(impls[key].predict_proba, X, SCALING_THREADS,
                                                 calls, rows, max(3, repeats))
                result.append({"rows": rows, "impl": key, "threads": list(rates),
                               "rows_per_s": list(rates.values())})
                shown = "  ".join(f"{t}: {r / 1e3:.0f}k" for t, r in rates.items())
                log(f"  {key} from threads, {rows} row(s) per call: {shown} rows/s")
    return result


# ----------------------------------------------------------------------------- width sweep
def measure_sweep(scale, repeats):
    log("width sweep")
    result = []
    for width in SWEEP_WIDTHS[scale]:
        workload = wl.SWEEP_BASE.with_width(width).scaled(SWEEP_ROWS[scale])
        impls, unavailable = runner.make_all(workload, ("fastnn", "jax_scan"))
        check = runner.check_agreement(workload, impls)
        times = runner.alternate({key: impl.train_epoch for key, impl in impls.items()},
                                 repeats)
        flops = workload.flops_per_epoch()
        row = {"width": width, "n": workload.n, "unavailable": unavailable,
               "paths": product_paths(workload)}
        for key in impls:
            median = runner.stats(times[key])["median"]
            row[key] = {"median": median, "gflops": flops / median / 1e9,
                        "us_per_step": median / workload.n_batches * 1e6,
                        "agrees": check[key]["agrees"]}
        result.append(row)
        shown = "  ".join(f"{k} {row[k]['median']:.4f}s" for k in impls)
        log(f"  width {width:5d}: {shown}")
    return result


def measure_shapes(scale, repeats):
    """fastnn against JAX lax.scan on the awkward shapes of bench/workloads.py (SHAPES)."""
    log("awkward shapes")
    result = []
    for sid, what, workload in wl.SHAPES:
        if SHAPE_IDS[scale] is not None and sid not in SHAPE_IDS[scale]:
            continue
        workload = workload.scaled(SWEEP_ROWS[scale])
        impls, unavailable = runner.make_all(workload, ("fastnn", "jax_scan"))
        check = runner.check_agreement(workload, impls)
        times = runner.alternate({key: impl.train_epoch for key, impl in impls.items()},
                                 repeats)
        row = {"id": sid, "what": what, "layers": describe_layers(workload),
               "batch": workload.batch, "n": workload.n, "unavailable": unavailable}
        for key in impls:
            median = runner.stats(times[key])["median"]
            row[key] = {"median": median, "us_per_step": median / workload.n_batches * 1e6,
                        "agrees": check[key]["agrees"]}
        result.append(row)
        shown = "  ".join(f"{k} {row[k]['median']:.4f}s" for k in impls)
        log(f"  {sid} {what}: {shown}")
    return result


def product_paths(workload):
    """How fastnn runs the matrix products of one training step of ``workload``, by the rules
    of fastnn/kernels/dense.py and fastnn/threads.py: {"loops": n, "blas": n, "split": n},
    "split" counting the BLAS products large enough for BLAS to use several threads."""
    from fastnn.kernels import dense
    from fastnn.threads import BLAS_SPLIT

    rows, counts = workload.batch, {"loops": 0, "blas": 0, "split": 0}
    for i, (k, n) in enumerate(workload.dense_shapes):
        products = [(rows, dense.BLAS_MIN_ROWS), (rows, dense.BLAS_MIN_ROWS_TN)]
        if i > 0:
            products.append((rows, dense.BLAS_MIN_ROWS))
        for r, min_rows in products:
            work = r * k * n
            if n > 1 and r >= min_rows and work > dense.SMALL_PRODUCT:
                counts["blas"] += 1
                counts["split"] += work > BLAS_SPLIT
            else:
                counts["loops"] += 1
    return counts


# ----------------------------------------------------------------------------- targets
def targets(results):
    """[(target, measured, verdict)], verdict "met", "not met" or "not measured"."""
    rows = []
    training = {r["workload"]["id"]: r for r in results.get("training", [])}

    def ratio(wid, peer):
        r = training.get(wid, {}).get("rows", {})
        if "fastnn" in r and peer in r:
            return r["fastnn"]["median"] / r[peer]["median"]
        return None

    def verdict(value, ok):
        return "not measured" if value is None else ("met" if ok else "not met")

    for wid in ("B1", "B2", "B3", "B4"):
        value = ratio(wid, "jax_scan")
        rows.append((f"{wid}: fastnn / JAX lax.scan <= 0.8", "-" if value is None else
                     f"{value:.2f}", verdict(value, value is not None and value <= 0.8)))
    for wid in ("B1", "B2"):
        value = ratio(wid, "torch")
        speedup = None if value is None else 1.0 / value
        rows.append((f"{wid}: at least 10x faster than PyTorch eager",
                     "-" if speedup is None else f"{speedup:.1f}x",
                     verdict(speedup, speedup is not None and speedup >= 10)))
    for wid in ("B3", "B4"):
        r = training.get(wid, {})
        fast = r.get("rows", {}).get("fastnn")
        pct = None if fast is None else fast["pct_peak"]
        rows.append((f"{wid}: at least 75% of the same run's GEMM peak",
                     "-" if fast is None else f"{fast['gflops']:.0f} GFLOP/s = {pct:.0f}% of "
                     f"{r['gemm']['peak']:.0f}", verdict(pct, pct is not None and pct >= 75)))
        speedup = r.get("fastnn_one_thread", {}).get("speedup")
        rows.append((f"{wid}: fastnn on all threads at least 1.7x its speed on one",
                     "-" if speedup is None else f"{speedup:.2f}x",
                     verdict(speedup, speedup is not None and speedup >= 1.7)))
    shapes = [row["fastnn"]["median"] / row["jax_scan"]["median"]
              for row in results.get("shapes", []) if "fastnn" in row and "jax_scan" in row]
    worst = max(shapes) if shapes else None
    rows.append(("Awkward shapes: fastnn / JAX lax.scan <= 1.0 on every shape",
                 "-" if worst is None else f"worst {worst:.2f}",
                 verdict(worst, worst is not None and worst <= 1.0)))
    inference = results.get("inference", {}).get("rows", {})
    fast = inference.get("fastnn")
    p50 = None if fast is None else fast["p50_us"]
    floor = results.get("inference", {}).get("weights_read")
    rows.append(("B5: one row <= 5 us p50", "-" if p50 is None else
                 f"{p50:.1f} us (CPU time {fast['cpu_us']:.1f} us"
                 + ("" if floor is None else
                    f"; reading the weights alone {floor['p50_us']:.1f} us") + ")",
                 verdict(p50, p50 is not None and p50 <= 5)))
    jax = inference.get("jax_scan")
    batch_ratio = None if fast is None or jax is None else fast["rows_per_s"] / jax["rows_per_s"]
    rows.append(("B5: 10000 rows at least as fast as JAX",
                 "-" if batch_ratio is None else
                 f"{fast['rows_per_s'] / 1e3:.0f}k vs {jax['rows_per_s'] / 1e3:.0f}k rows/s",
                 verdict(batch_ratio, batch_ratio is not None and batch_ratio >= 1.0)))
    overheads = [r["fastnn_warmup"]["first_epoch_s"] - r["fastnn_warmup"]["second_epoch_s"]
                 for r in training.values() if "first_epoch_s" in r.get("fastnn_warmup", {})]
    worst = max(overheads) if overheads else None
    rows.append(("Warm-up (compile with a warm cache) < 0.5 s",
                 "-" if worst is None else f"{worst:.2f} s (worst workload)",
                 verdict(worst, worst is not None and worst < 0.5)))
    cli = results.get("cli", {})
    if "fastnn_warm_s" in cli and "peer_s" in cli:
        rows.append(("B6: `fastnn train` (warm) faster than pandas + PyTorch",
                     f"{cli['fastnn_warm_s']:.2f} s vs {cli['peer_s']:.2f} s",
                     verdict(1, cli["fastnn_warm_s"] < cli["peer_s"])))
    else:
        rows.append(("B6: `fastnn train` (warm) faster than pandas + PyTorch", "-",
                     "not measured"))
    return rows


# ----------------------------------------------------------------------------- main
def measure_gemm(results, size, threads=None):
    """Measure the GEMM rate again (on ``threads`` BLAS threads; None: the pinned count) and
    return the reading; ``results["gemm"]`` keeps every reading at the pinned count and, as the
    machine's limit, the best (the machine is shared: a reading under load understates it)."""
    reading = gemm_gflops(size, threads=threads)
    if threads is None:
        gemm = results.setdefault("gemm", {"size": size, "readings": []})
        gemm["readings"].append(reading)
        for key in ("numpy", "numba", "peak"):
            gemm[key] = max(r[key] for r in gemm["readings"])
    shown = results["machine"]["threads"] if threads is None else threads
    log(f"GEMM ({shown} thread(s)): {reading['peak']:.0f} GFLOP/s")
    return reading


def run(scale, repeats, workload_ids, sweep=True, cli=True):
    results = {"scale": scale, "repeats": repeats, "settle_s": runner.SETTLE_S,
               "warm_up": True, "machine": machine_info()}
    gemm_size = 256 if scale == "tiny" else 2048
    before = measure_gemm(results, gemm_size)
    results["training"] = []
    for wid in workload_ids:
        one = measure_gemm(results, gemm_size, threads=1)
        r = measure_training(wl.at_scale(wl.BY_ID[wid], scale), scale, repeats)
        after = measure_gemm(results, gemm_size)
        # the workload's own limit: the better of the readings just before and just after it
        r["gemm"] = {"before": before["peak"], "after": after["peak"],
                     "peak": max(before["peak"], after["peak"]), "one_thread": one["peak"]}
        for row in r["rows"].values():
            row["pct_peak"] = 100.0 * row["gflops"] / r["gemm"]["peak"]
        results["training"].append(r)
        before = after
    results["inference"] = measure_inference(scale, repeats)
    if sweep:
        results["sweep"] = measure_sweep(scale, max(3, repeats - 2))
        results["shapes"] = measure_shapes(scale, max(3, repeats - 2))
    if cli:
        from .cli_workload import measure_cli

        results["cli"] = measure_cli(scale, max(3, repeats - 2))
    results["targets"] = targets(results)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=list(wl.SCALES), default="full")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workloads", default="B1,B2,B3,B4")
    parser.add_argument("--out", default=os.path.join("docs", "benchmarks.md"))
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--render", metavar="JSON", help="re-render a saved run; measure nothing")
    parser.add_argument("--inference-only", action="store_true",
                        help="measure B5 alone, at the saved run's scale, into that run (the "
                             "JSON next to --out), and re-render it")
    args = parser.parse_args(argv)
    from .render import write_report

    if args.render:
        with open(args.render) as f:
            results = json.load(f)
    elif args.inference_only:
        with open(os.path.splitext(args.out)[0] + ".json") as f:
            results = json.load(f)
        results["inference"] = measure_inference(results["scale"], max(1, args.repeats))
        results["inference"]["machine"] = machine_info()  # B5's own date and commit
        results["targets"] = targets(results)
    else:
        ids = [w.strip() for w in args.workloads.split(",") if w.strip()]
        unknown = [w for w in ids if w not in wl.BY_ID]
        if unknown:
            parser.error(f"unknown workload(s) {unknown}; choose from {list(wl.BY_ID)}")
        results = run(args.scale, max(1, args.repeats), ids, sweep=not args.no_sweep,
                      cli=not args.no_cli)
    write_report(results, args.out)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
