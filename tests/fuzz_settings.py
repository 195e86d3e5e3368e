"""Shared settings and outcome checks of the fuzzing tests (tests/test_fuzz_*.py).

Two profiles, chosen with the environment variable FASTNN_FUZZ:
    ci    (default) a few hundred examples in all, derandomized: the same examples every run
    long  FASTNN_FUZZ=long: 10000+ examples in all, random, for a release or after a change
          to the loader or the command (results: docs/reliability.md)
"""

import os
import tracemalloc
from contextlib import contextmanager

from hypothesis import HealthCheck, Phase, settings

PROFILE = os.environ.get("FASTNN_FUZZ", "ci")
if PROFILE not in ("ci", "long"):
    raise ValueError(f"FASTNN_FUZZ must be 'ci' or 'long', got {PROFILE!r}")
# The most memory one example may allocate (tracemalloc's peak): far below any allocation the
# declared sizes of a crafted file could ask for, far above what the tiny inputs need.
MEMORY_BOUND = 64 * 2**20


def fuzz(ci_examples, long_examples):
    """The hypothesis settings of one fuzzing test in the current profile."""
    common = dict(deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.function_scoped_fixture])
    if PROFILE == "long":
        return settings(max_examples=long_examples, **common)
    # CI reports the first failing example as found: shrinking it can take minutes.
    return settings(max_examples=ci_examples, derandomize=True,
                    phases=[Phase.explicit, Phase.generate], **common)


@contextmanager
def memory_bound(bound=MEMORY_BOUND):
    """Fail if the block's allocations (tracemalloc) ever exceed ``bound`` bytes."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < bound, f"allocated up to {peak} bytes"


def check_command_outcome(result, allowed=(0, 1, 2)):
    """A CliRunner result is success, or a one-line error with exit code 2 (bad input) or 1
    (training diverged, docs/cli.md): no exception, no traceback, nothing but ``Error: ...`` on
    stderr."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}")
    assert result.exit_code in allowed, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    if result.exit_code in (1, 2):
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
