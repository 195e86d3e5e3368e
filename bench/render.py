"""Write a run's results as docs/benchmarks.md, the JSON beside it, and the PNG chart."""

import json
import math
import os

from .first_run import saved_section as saved_first_run_section
from .implementations import IMPLEMENTATIONS, implementation_class

SCALE_NOTE = {
    "full": "the full workload sizes (bench/workloads.py)",
    "quick": "20% of the full sizes' rows (a shorter run; per-epoch times scale "
             "roughly linearly with the rows, ratios are what to compare)",
    "tiny": "256 rows per workload (the smoke-test size: timings mean nothing)",
}


def _blas_note(m):
    """The OpenBLAS kernels the run used (fastnn's products; not JAX's nor PyTorch's), when
    recorded: OpenBLAS picks them for the CPU unless OPENBLAS_CORETYPE names them."""
    if "openblas" not in m:
        return ""
    forced = m.get("openblas_coretype")
    return ("\n- OpenBLAS kernels (fastnn's matrix products): " + "; ".join(m["openblas"])
            + (f", as OPENBLAS_CORETYPE={forced} in the environment asked" if forced else
               ", as OpenBLAS chose for this CPU"))


def label(key):
    return implementation_class(key).label


def fmt_s(seconds):
    if seconds is None:
        return "-"
    if seconds >= 10:
        return f"{seconds:.1f}"
    if seconds >= 1:
        return f"{seconds:.2f}"
    if seconds >= 0.01:
        return f"{seconds:.3f}"
    return f"{seconds:.4f}"


def fmt_rate(value):
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    return f"{value:.0f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def method_section(results):
    m = results["machine"]
    v = m["versions"]
    loads = [x for r in results["training"] for x in r["load"]]
    load = f"{min(loads):.1f} to {max(loads):.1f}" if loads else "-"
    settled = (f", each timed epoch after {results['settle_s']} s of rest, so that none is "
               "timed against the idle threads of the one before, which keep spinning on the "
               "cores for a while (OpenBLAS's for about 0.1 s), and after one untimed epoch of "
               "its own, so that none is timed on a core just woken from the rest") \
        if results.get("warm_up") else ""
    return f"""## How this was measured
- Machine: {m['cpu']}, {m['cores']} cores{', AVX-512' if m['avx512'] else ''}; every
  implementation pinned to {m['threads']} threads (OpenBLAS, OpenMP, Numba, PyTorch; JAX's CPU
  client sizes its pool to the cores); fastnn with its measured per-chunk choice of one thread
  or all (`FASTNN_NUM_THREADS=auto`: each batch's rows split between the threads where each
  gets at least 64, else the BLAS's threads; docs/engine.md). The machine was shared with other work
  during the run: its 1-minute load average read {load} at the start and end of the workloads.
- Versions: Python {v['python']}, NumPy {v['numpy']}, SciPy {v['scipy']}, Numba {v['numba']}
  (llvmlite {v['llvmlite']}), PyTorch {v['torch']}, JAX {v['jax']}, scikit-learn
  {v['sklearn']}; fastnn at commit `{m['fastnn_commit']}`. Run on {m['date']}.{_blas_note(m)}
- Sizes: {SCALE_NOTE[results['scale']]}. All float32; synthetic data from a fixed seed with
  labels from a fixed random teacher network (bench/workloads.py).
- Every implementation trains the same network on the same data from the same initial weights
  (made by bench/workloads.py, not by any framework). Before timing, each trains one epoch in
  row order and its full-data loss is compared with fastnn's (with the first implementation
  that runs, where fastnn cannot): "agrees" means the losses before training match within
  1e-4 and after the epoch within the workload's tolerance. That first epoch is also each
  implementation's warm-up (its compile time) in the report's process.
- Then {results['repeats']} timed epochs each, shuffled, the implementations alternating (one
  epoch each per round, the order rotated every round{settled}); the tables give the median and the
  spread (max - min) / median. Ratios compare implementations of the same run; on a shared
  machine times and ratios also move between runs (JAX lax.scan's B3 epoch, whose code did not
  change, took 0.30 s in one run made for this report and 0.40 s in another), so differences
  of less than about 20% need a second run.
- What is timed: fastnn `model.fit(X, y, epochs=1, batch_size=B)` (input checks included);
  PyTorch eager a permutation, one gather of the data, and a loop over slices (no DataLoader);
  JAX jitted step: one device permutation and one jitted call per batch; JAX lax.scan: one
  jitted call for the whole epoch (permutation included); scikit-learn one `partial_fit`.
  The optimizers use PyTorch's formulas and the same settings in every implementation.
- FLOPs of an epoch count the matrix products: per dense layer and row 2 n_in n_out for the
  forward product, as many for dW and for dx, except dx of the first layer (the input needs no
  gradient; counting it too would give 84.4 instead of 60.4 GFLOP for B3).
  GFLOP/s is that count over the median epoch; a workload's GEMM peak is the better of the
  float32 {results['gemm']['size']}x{results['gemm']['size']} product rates (NumPy's or
  Numba's np.dot, both threads) measured just before and just after it (the readings during
  the run, in order: {", ".join(f"{r['peak']:.0f}" for r in results['gemm'].get('readings', []))}
  GFLOP/s; the best, NumPy {results['gemm']['numpy']:.0f} and Numba
  {results['gemm']['numba']:.0f})."""


def targets_section(results):
    rows = [(t, measured, f"**{verdict}**" if verdict == "met" else verdict)
            for t, measured, verdict in results["targets"]]
    return "## The targets\n" + table(["target", "measured in this run", "verdict"], rows)


def training_summary(results):
    keys = [k for k in IMPLEMENTATIONS
            if any(k in r["rows"] or k in r["unavailable"] for r in results["training"])]
    rows = []
    for r in results["training"]:
        present = {k: r["rows"][k]["median"] for k in keys if k in r["rows"]}
        best = min(present.values()) if present else None
        cells = []
        for k in keys:
            if k in r["rows"]:
                text = fmt_s(r["rows"][k]["median"])
                cells.append(f"**{text}**" if present[k] == best else text)
            else:
                cells.append("n/a" if k != "fastnn" else "not available yet")
        fast = r["rows"].get("fastnn", {}).get("ratio_to_best_peer")
        rows.append([r["workload"]["id"]] + cells + ["-" if fast is None else f"{fast:.2f}"]
                    + scaling_cells(r))
    header = ["", *[label(k) for k in keys], "fastnn / fastest peer", "fastnn on 1 thread",
              "all threads / 1", "GEMM peak, 2 / 1 threads", "fastnn of the 2-thread peak"]
    return ("## Training: seconds per epoch (median; the fastest in bold)\n"
            "\"fastnn on 1 thread\" is fastnn with `set_num_threads(1)`, timed in the same "
            "alternating rounds as the rest, and \"all threads / 1\" its speed-up from the "
            "second thread. The GEMM peak is the float32 product rate (GFLOP/s) measured just "
            "before and just after the workload, the better reading on both threads, and one "
            "reading on one thread; the last column is fastnn's epoch GFLOP/s as a share of "
            "that 2-thread peak.\n\n"
            + table(header, rows))


def scaling_cells(r):
    """[fastnn's 1-thread epoch, its all-threads speed-up, the GEMM peaks, fastnn's share]."""
    one = r.get("fastnn_one_thread")
    gemm = r.get("gemm")
    fast = r["rows"].get("fastnn")
    return ["-" if one is None else fmt_s(one["median"]),
            "-" if one is None else f"{one['speedup']:.2f}x",
            "-" if gemm is None else f"{gemm['peak']:.0f} / {gemm['one_thread']:.0f}",
            "-" if fast is None or "pct_peak" not in fast else f"{fast['pct_peak']:.0f}%"]


def training_details(r):
    w = r["workload"]
    lines = [f"### {w['id']}: {w['title']}",
             f"{w['layers']}, loss {w['loss']}, n = {w['n']}, d = {w['d']}, batch {w['batch']}, "
             f"{w['optimizer']}; {r['flops_per_epoch'] / 1e9:.2f} GFLOP per epoch. Load average "
             f"{r['load'][0]:.1f} before, {r['load'][1]:.1f} after.", ""]
    rows = []
    for key, row in r["rows"].items():
        ratio = row["ratio_to_best_peer"]
        rows.append([label(key), fmt_s(row["median"]), f"{100 * row['spread']:.0f}%",
                     fmt_rate(row["samples_per_s"]), fmt_s(row["warmup_s"]),
                     "-" if ratio is None else f"{ratio:.2f}", f"{row['gflops']:.1f}",
                     f"{row['pct_peak']:.0f}%", f"{row['loss_after']:.5f}",
                     "yes" if row["agrees"] else f"**NO** ({row['rel_diff']:.1e})"])
    lines.append(table(["implementation", "s/epoch", "spread", "samples/s", "warm-up s",
                        "/ fastest peer", "GFLOP/s", "of peak", "loss after 1 epoch",
                        "agrees"], rows))
    for key, reason in r["unavailable"].items():
        lines.append(f"- {label(key)}: {reason}")
    gemm = r.get("gemm")
    if gemm:
        lines.append(f"- GEMM peak around this workload: {gemm['before']:.0f} GFLOP/s before, "
                     f"{gemm['after']:.0f} after (\"of peak\" uses the better), "
                     f"{gemm['one_thread']:.0f} on one thread.")
    one = r.get("fastnn_one_thread")
    if one:
        lines.append(f"- fastnn on one thread: {fmt_s(one['median'])} s/epoch (spread "
                     f"{100 * one['spread']:.0f}%), {one['speedup']:.2f}x slower than on all.")
    warm = r.get("fastnn_warmup")
    if warm and "first_epoch_s" in warm:
        lines.append(f"- fastnn in a fresh process with a warm compile cache: `import` "
                     f"{warm['import_s']:.2f} s, first epoch {warm['first_epoch_s']:.3f} s, "
                     f"second {warm['second_epoch_s']:.3f} s (warm-up cost "
                     f"{warm['first_epoch_s'] - warm['second_epoch_s']:.3f} s).")
    elif warm:
        lines.append(f"- fastnn warm-up in a fresh process failed: {warm.get('error')}")
    return "\n".join(lines)


def profile_section(results):
    rows = []
    for r in results["training"]:
        prof = r.get("profile")
        if not prof:
            continue
        parts = ("forward", "loss", "backward", "update")
        other = prof["step"] - sum(prof[p] for p in parts)  # below 0: within the noise
        jax = r["rows"].get("jax_scan")
        batches = math.ceil(r["workload"]["n"] / r["workload"]["batch"])
        rows.append([r["workload"]["id"], *(f"{prof[p]:.1f}" for p in parts),
                     f"{other:.1f}" if other >= 0 else "~0",
                     f"{prof['step']:.1f}",
                     "-" if jax is None else f"{jax['median'] / batches * 1e6:.1f}"])
    if not rows:
        return ""
    return ("## Where fastnn's time goes\n"
            "Microseconds per batch, one BLAS thread, CPU time of the thread (bench/profile.py): "
            "forward, loss and backward passes and the optimizer update each repeated on one "
            "batch in a compiled loop; the step is a whole epoch of the compiled training loop "
            "over its batches, and \"other\" is what the step has beyond the four parts (the "
            "batch gather, statistics, schedule, and the calls between kernels; ~0 where the "
            "parts, timed separately, add up to more than the step). The last "
            "column is JAX lax.scan's median epoch in this run (wall clock, its threads) per "
            "batch, for scale.\n\n"
            + table(["", "forward", "loss", "backward", "update", "other", "step",
                     "JAX lax.scan per batch"], rows))


def inference_section(results):
    inf = results["inference"]
    rows = []
    for key, row in inf["rows"].items():
        name = "JAX jit" if key == "jax_scan" else label(key)
        rows.append([name, f"{row['p50_us']:.1f}", f"{row['p99_us']:.1f}",
                     f"{row['cpu_us']:.1f}" if "cpu_us" in row else "-",
                     fmt_s(row["batch_s"]), fmt_rate(row["rows_per_s"]),
                     f"{row['max_abs_diff']:.1e}" + ("" if row["agrees"] else " **NO**")])
    load = inf.get("load")
    text = [f"## B5: inference with B3's network\nOne row at a time ({inf['calls']} calls each, "
            f"alternating in blocks of 100; NumPy row in, NumPy probabilities out) and "
            f"{inf['batch_rows']} rows at once (alternating rounds"
            + (f"; each call after {inf['settle_s']} s of rest, so that none is timed against "
               "the previous one's BLAS threads, which keep spinning for a while after a call"
               if "settle_s" in inf else "")
            + "). \"CPU µs\" is the calling "
            "thread's CPU time per one-row call (the median over the blocks), which the load "
            "of other processes moves far less than the wall clock"
            + (f"; the load average read {load[0]:.1f} before and {load[-1]:.1f} after."
               if load else ".")
            + (f" Measured on its own (`python -m bench.report --inference-only`) on "
               f"{inf['machine']['date']} at commit {inf['machine']['fastnn_commit']}, after "
               "the rest of this page." if "machine" in inf else ""), "",
            table(["implementation", "1 row p50 µs", "1 row p99 µs", "1 row CPU µs",
                   f"{inf['batch_rows']} rows s", "rows/s", "max |diff| vs first"], rows)]
    for key, reason in inf["unavailable"].items():
        text.append(f"- {label(key)}: {reason}")
    offset = inf.get("fastnn_weights_offset")
    if offset is not None:
        text.append(f"- fastnn's weights (`model.params`) started {offset} bytes past a 64-byte "
                    "boundary in this run; 16 or 48 make a one-row call about 1.4x slower than "
                    "0 or 32 (docs/engine.md, prediction).")
    floor = inf.get("weights_read")
    if floor is not None:
        text.append(f"- Reading the weights alone (a compiled sum over fastnn's "
                    f"{floor['bytes'] / 1024:.0f} KiB parameter buffer, timed in the same "
                    f"blocks): p50 {floor['p50_us']:.1f} µs. A one-row prediction reads every "
                    "weight once, so this is the least a one-row call can take on this "
                    "machine.")
    one = inf.get("fastnn_one_thread_rows_per_s")
    if one:
        text.append(f"- fastnn on one thread (`set_num_threads(1)`, in the same rounds): "
                    f"{fmt_rate(one)} rows/s for the {inf['batch_rows']} rows.")
    scaling = inf.get("scaling")
    if scaling:
        counts = scaling[0]["threads"]
        rows = []
        for entry in scaling:
            name = "JAX jit" if entry["impl"] == "jax_scan" else label(entry["impl"])
            rates = entry["rows_per_s"]
            rows.append([name, entry["rows"], *(fmt_rate(r) for r in rates),
                         f"{rates[-1] / rates[0]:.2f}x" if rates[0] else "-"])
        text += ["", "### Python threads predicting at once",
                 "Rows per second of a process whose Python threads all call `predict` at "
                 "the same time, each on its own rows (the thread counts alternate within "
                 "each round; median of the rounds). fastnn's compiled prediction runs "
                 "without the GIL, so only its Python part (argument checks, dispatch) is "
                 "serialised.", "",
                 table(["implementation", "rows per call",
                        *(f"{c} thread{'s' if c > 1 else ''}" for c in counts),
                        f"{counts[-1]} threads / 1"], rows)]
    return "\n".join(text)


def sweep_section(results):
    sweep = results.get("sweep")
    if not sweep:
        return ""
    rows = []
    for row in sweep:
        f, j = row.get("fastnn"), row.get("jax_scan")
        paths = row.get("paths")
        rows.append([row["width"],
                     "-" if paths is None else
                     f"{paths['loops']} / {paths['blas']} ({paths['split']} split)",
                     "-" if f is None else fmt_s(f["median"]),
                     "-" if f is None else f"{f['us_per_step']:.1f}",
                     "-" if f is None else f"{f['gflops']:.1f}",
                     "-" if j is None else fmt_s(j["median"]),
                     "-" if j is None else f"{j['gflops']:.1f}",
                     "-" if f is None or j is None else f"{f['median'] / j['median']:.2f}"])
    n = sweep[0]["n"]
    return ("## Width sweep\n"
            f"B2 with other hidden widths (d = 32, two hidden ReLU layers of the given width, "
            f"sigmoid output, BCE, Adam, batch 32), {n} rows: where fastnn's paths change "
            "(small-product loops or BLAS, one thread or two) a cliff would show as a drop in "
            "GFLOP/s. \"products\" says how fastnn runs the step's matrix products: by its "
            "own loops / by BLAS (and how many of those are large enough for BLAS to split "
            "over threads, where fastnn's thread choice applies; fastnn/threads.py).\n\n"
            + table(["width", "products: loops / BLAS", "fastnn s", "fastnn µs/step",
                     "fastnn GFLOP/s", "JAX scan s", "JAX GFLOP/s", "fastnn / JAX"], rows))


def shapes_section(results):
    shapes = results.get("shapes")
    if not shapes:
        return ""
    rows = []
    for row in shapes:
        f, j = row.get("fastnn"), row.get("jax_scan")
        ratio = None if f is None or j is None else f["median"] / j["median"]
        rows.append([row["id"], row["what"], row["layers"], row["batch"],
                     "-" if f is None else fmt_s(f["median"]),
                     "-" if f is None else f"{f['us_per_step']:.1f}",
                     "-" if j is None else fmt_s(j["median"]),
                     "-" if ratio is None else (f"{ratio:.2f}" if ratio <= 1.0
                                                else f"**{ratio:.2f}**"),
                     "yes" if f and j and f["agrees"] and j["agrees"] else "**NO**"])
    return ("## Awkward shapes against JAX\n"
            "Networks whose widths are not multiples of 8 or 16, a deep narrow stack, batches "
            "of 3 and 7 rows and a wide first layer (bench/workloads.py, SHAPES), "
            f"{shapes[0]['n']} rows, one epoch each, fastnn and JAX lax.scan alternating; the "
            "target is a ratio of at most 1.0 on every shape (above it in bold).\n\n"
            + table(["", "what", "network", "batch", "fastnn s", "fastnn µs/step",
                     "JAX scan s", "fastnn / JAX", "agrees"], rows))


def cli_section(results):
    cli = results.get("cli")
    if not cli:
        return ""
    if "unavailable" in cli:
        return f"## B6: the command line\n{cli['unavailable']}"
    return "## B6: the command line\n" + cli["markdown"]


def write_chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    training = results["training"]
    keys = [k for k in IMPLEMENTATIONS if any(k in r["rows"] for r in training)]
    width = 0.8 / max(len(keys), 1)
    for i, key in enumerate(keys):
        xs, ys = [], []
        for j, r in enumerate(training):
            peers = [v["median"] for k, v in r["rows"].items() if k != "fastnn"]
            if key in r["rows"] and peers:
                xs.append(j + (i - (len(keys) - 1) / 2) * width)
                ys.append(r["rows"][key]["median"] / min(peers))
        ax.bar(xs, ys, width, label=label(key))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(training)), [r["workload"]["id"] for r in training])
    ax.set_ylabel("epoch time / fastest peer's (log)")
    ax.set_title("Training: lower is faster")
    ax.legend(fontsize=8)
    sweep = results.get("sweep") or []
    for key in ("fastnn", "jax_scan"):
        pts = [(row["width"], row[key]["gflops"]) for row in sweep if key in row]
        if pts:
            ax2.plot(*zip(*pts), marker="o", label=label(key))
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("hidden width (batch 32)")
    ax2.set_ylabel("GFLOP/s")
    ax2.set_title("Width sweep")
    if sweep:
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(results, md_path):
    base, _ = os.path.splitext(md_path)
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    png = base + ".png"
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1)
    try:
        write_chart(results, png)
    except ImportError:
        png = None  # matplotlib is not installed: no chart
    parts = ["# Benchmarks: fastnn against its peers",
             f"Written by `python -m bench.report` ({results['scale']} sizes, "
             f"{results['repeats']} repeats). Workloads, peers and targets: "
             "bench/workloads.py and the sections below; the code: `bench/`.",
             targets_section(results), training_summary(results),
             png and f"![epoch time relative to the fastest peer, and the width sweep]"
                     f"({os.path.basename(png)})",
             "## Training, workload by workload",
             *[training_details(r) for r in results["training"]],
             profile_section(results),
             inference_section(results), sweep_section(results), shapes_section(results),
             cli_section(results),
             saved_first_run_section(os.path.dirname(os.path.abspath(md_path))),
             method_section(results)]
    with open(md_path, "w") as f:
        f.write("\n\n".join(p for p in parts if p) + "\n")
