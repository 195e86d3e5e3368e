"""The width sweep: B2's shape with hidden widths 8 to 1024 at batch 32, fastnn against the
JAX epoch-scan, to show where fastnn changes paths (and that no width falls off a cliff)."""

import pytest

from bench import workloads as wl
from bench.conftest import make_or_skip, run_benchmark
from bench.report import SWEEP_ROWS, SWEEP_WIDTHS


def sweep_cases():
    widths = sorted(set(w for ws in SWEEP_WIDTHS.values() for w in ws))
    return [(w, key) for w in widths for key in ("fastnn", "jax_scan")]


@pytest.mark.parametrize("width, key", sweep_cases())
def test_width(benchmark, scale, rounds, width, key):
    if width not in SWEEP_WIDTHS[scale]:
        pytest.skip(f"width {width} is not swept at the {scale} scale")
    workload = wl.SWEEP_BASE.with_width(width).scaled(SWEEP_ROWS[scale])
    impl = make_or_skip(key, workload)
    run_benchmark(benchmark, impl.train_epoch, rounds, f"width {width}",
                  gflop_per_epoch=workload.flops_per_epoch() / 1e9)
