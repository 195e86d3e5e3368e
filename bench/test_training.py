"""B1-B4: one training epoch of each implementation (group = workload), and the check that
all implementations compute the same thing (their losses after an unshuffled epoch agree)."""

import pytest

from bench import runner
from bench import workloads as wl
from bench.conftest import make_or_skip, run_benchmark
from bench.implementations import IMPLEMENTATIONS

WORKLOADS = [w.id for w in wl.TRAINING]


@pytest.mark.parametrize("key", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("workload_id", WORKLOADS)
def test_epoch(benchmark, scale, rounds, workload_id, key):
    workload = wl.at_scale(wl.BY_ID[workload_id], scale)
    impl = make_or_skip(key, workload)
    run_benchmark(benchmark, impl.train_epoch, rounds, f"{workload_id} epoch",
                  n=workload.n, gflop_per_epoch=workload.flops_per_epoch() / 1e9)


@pytest.mark.parametrize("workload_id", WORKLOADS)
def test_losses_agree(scale, workload_id):
    workload = wl.at_scale(wl.BY_ID[workload_id], scale)
    impls, unavailable = runner.make_all(workload)
    if len(impls) < 2:
        pytest.skip(f"fewer than two implementations can run {workload_id}: {unavailable}")
    rows = runner.check_agreement(workload, impls)
    losses = {key: (row["loss_before"], row["loss_after"]) for key, row in rows.items()}
    assert all(row["agrees"] for row in rows.values()), losses
