"""B5: inference with B3's network, one row at a time and 10000 rows at once; fastnn against
JAX's jitted predict alternating in one run; fastnn called from several Python threads."""

import numpy as np
import pytest

from bench import inference, runner
from bench import workloads as wl
from bench.conftest import make_or_skip, run_benchmark
from bench.report import (BATCH_ROWS, INFERENCE_PEERS, LATENCY_CALLS, SCALING_CALLS,
                          SCALING_THREADS)

KEYS = ("fastnn",) + INFERENCE_PEERS


def workload_at(scale):
    return wl.at_scale(wl.B3, scale)


@pytest.mark.parametrize("key", KEYS)
def test_one_row(benchmark, scale, key):
    workload = workload_at(scale)
    impl = make_or_skip(key, workload, training=False)
    row = runner.prepare(workload)[0][:1]
    benchmark.group = "B5 one row"
    benchmark(impl.predict_proba, row)


@pytest.mark.parametrize("key", KEYS)
def test_many_rows(benchmark, scale, rounds, key):
    workload = workload_at(scale)
    impl = make_or_skip(key, workload, training=False)
    rows = runner.prepare(workload)[0][:BATCH_ROWS]
    run_benchmark(benchmark, lambda: impl.predict_proba(rows), rounds,
                  f"B5 {rows.shape[0]} rows", rows=rows.shape[0])


@pytest.fixture(scope="module")
def against_jax(scale):
    """fastnn and JAX's jitted predict of B3's network, and B3's rows."""
    workload = workload_at(scale)
    impls, unavailable = runner.make_all(workload, ("fastnn", "jax_scan"), training=False)
    if len(impls) < 2:
        pytest.skip(f"fastnn or JAX cannot run B5 here: {unavailable}")
    return impls, runner.prepare(workload)[0]


def test_one_row_alternating_with_jax(benchmark, scale, rounds, against_jax):
    """Both one row per call in alternating blocks; p50, p99 and CPU µs per call of each, and
    fastnn's over JAX's, go to the benchmark's extra info."""
    impls, X = against_jax
    calls = LATENCY_CALLS[scale]
    result = inference.one_row(impls, [X[i:i + 1] for i in range(min(calls, X.shape[0]))],
                               calls)
    benchmark.extra_info.update({f"{key} {name}": value for key, row in result.items()
                                 for name, value in row.items()})
    benchmark.extra_info["fastnn / JAX p50"] = (result["fastnn"]["p50_us"]
                                                / result["jax_scan"]["p50_us"])
    row = X[:1]
    run_benchmark(benchmark, lambda: impls["fastnn"].predict_proba(row), rounds,
                  "B5 one row, alternating with JAX")


def test_many_rows_alternating_with_jax(benchmark, scale, rounds, against_jax):
    impls, X = against_jax
    rows = X[:BATCH_ROWS]
    times = inference.many_rows(impls, rows, rounds)
    rates = {key: rows.shape[0] / float(np.median(t)) for key, t in times.items()}
    benchmark.extra_info.update({f"{key} rows/s": rate for key, rate in rates.items()})
    benchmark.extra_info["fastnn / JAX rows/s"] = rates["fastnn"] / rates["jax_scan"]
    run_benchmark(benchmark, lambda: impls["fastnn"].predict_proba(rows), rounds,
                  f"B5 {rows.shape[0]} rows, alternating with JAX", warmup=False)


@pytest.mark.parametrize("rows", [1, 100], ids=["1-row", "100-row"])
def test_threads_predicting_at_once(benchmark, scale, rounds, against_jax, rows):
    """fastnn's rows/s from 1, 2 and 4 Python threads at once (the thread counts alternate
    in each round), in the extra info with the speed-up over one thread."""
    calls = dict(SCALING_CALLS[scale]).get(rows)
    if calls is None:
        pytest.skip(f"{rows} rows per call are not measured at the {scale} scale")
    impls, X = against_jax
    rates = inference.thread_scaling(impls["fastnn"].predict_proba, X, SCALING_THREADS, calls,
                                     rows, rounds)
    benchmark.extra_info.update({f"{count} threads rows/s": rate for count, rate in
                                 rates.items()})
    benchmark.extra_info["speed-up"] = rates[SCALING_THREADS[-1]] / rates[1]
    batch = X[:rows]
    run_benchmark(benchmark, lambda: impls["fastnn"].predict_proba(batch), rounds,
                  "B5 from threads", warmup=False)


def test_predictions_agree(scale):
    workload = workload_at(scale)
    impls, unavailable = runner.make_all(workload, KEYS, training=False)
    if len(impls) < 2:
        pytest.skip(f"fewer than two implementations can run B5: {unavailable}")
    rows = runner.prepare(workload)[0][:BATCH_ROWS]
    outputs = {key: impl.predict_proba(rows) for key, impl in impls.items()}
    first = next(iter(outputs.values()))
    for key, out in outputs.items():
        np.testing.assert_allclose(out, first, atol=1e-4, err_msg=key)
