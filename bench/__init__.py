"""fastnn's benchmark suite: workloads B1-B6 for fastnn and its peers (see docs/benchmarks.md).

    python -m pytest bench                     # pytest-benchmark suites, one group per workload
    python -m bench.report                     # everything side by side, writes the report
"""
