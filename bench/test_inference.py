"""B5: inference with B3's network, one row at a time and 10000 rows at once."""

import numpy as np
import pytest

from bench import runner
from bench import workloads as wl
from bench.conftest import make_or_skip, run_benchmark
from bench.report import BATCH_ROWS, INFERENCE_PEERS

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
