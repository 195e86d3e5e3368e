"""Options and fixtures of the benchmark suites (run by hand: ``python -m pytest bench``).

    --bench-scale full|quick|tiny   workload sizes (default full)
    --bench-rounds N                timed rounds per benchmark (default 5)

Implementations that cannot run a workload here are skipped with the reason.
"""

from bench import threads

threads.pin()

import pytest  # noqa: E402

from bench import runner  # noqa: E402
from bench import workloads as wl  # noqa: E402
from bench.implementations import Unavailable, make  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("fastnn benchmarks")
    group.addoption("--bench-scale", default="full", choices=list(wl.SCALES),
                    help="workload sizes: full, quick (20%% of the rows), "
                         "tiny (smoke test)")
    group.addoption("--bench-rounds", type=int, default=5, help="timed rounds per benchmark")


@pytest.fixture(scope="session")
def scale(request):
    return request.config.getoption("--bench-scale")


@pytest.fixture(scope="session")
def rounds(request):
    return max(1, request.config.getoption("--bench-rounds"))


def make_or_skip(key, workload, training=True):
    """The implementation, or a skipped test saying why it cannot run here."""
    X, y, weights = runner.prepare(workload)
    try:
        return make(key, workload, X, y, weights, training)
    except Unavailable as exc:
        pytest.skip(f"{key} on {workload.id}: {exc}")


def run_benchmark(benchmark, fn, rounds, group, warmup=True, **info):
    """Time ``fn`` (no arguments) ``rounds`` times, after one untimed call when ``warmup``
    (skipped under --benchmark-disable, where pytest-benchmark calls ``fn`` once)."""
    benchmark.group = group
    benchmark.extra_info.update(info)
    if warmup and not benchmark.disabled:
        fn()
    return benchmark.pedantic(fn, rounds=rounds, iterations=1)
