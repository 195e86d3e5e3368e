"""What the pytest suites and the report share: preparing a workload, making its
implementations, the loss-agreement check, and timing calls alternately.

The agreement check trains each implementation one epoch in row order (no shuffling) from the
shared initial weights and compares its full-data loss with the reference implementation's
(fastnn where it can run the workload). That epoch is each implementation's first, so its time
is also its warm-up time (compilation included) in this process.
"""

import functools
import os
import time

import numpy as np

from . import workloads as wl
from .implementations import IMPLEMENTATIONS, Unavailable, make


@functools.lru_cache(maxsize=4)
def prepare(workload):
    """(X, y, initial weights) of a workload (cached: several suites use the same data)."""
    X, y = wl.make_data(workload)
    return X, y, wl.initial_weights(workload)


def make_all(workload, keys=None, training=True):
    """({key: implementation}, {key: reason it is unavailable}) for the given keys."""
    X, y, weights = prepare(workload)
    made, unavailable = {}, {}
    for key in keys or IMPLEMENTATIONS:
        try:
            made[key] = make(key, workload, X, y, weights, training)
        except Unavailable as exc:
            unavailable[key] = str(exc)
    return made, unavailable


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def check_agreement(workload, impls):
    """Train each implementation one unshuffled epoch; return {key: row} with the row's
    ``warmup_s``, ``loss_before``, ``loss_after``, ``rel_diff`` (to the reference's loss after
    the epoch) and ``agrees`` (rel_diff within the workload's tolerance, and the losses before
    training equal within 1e-4, which shows the same network and weights)."""
    X, y, _ = prepare(workload)
    rows = {}
    for key, impl in impls.items():
        before = wl.mean_loss(workload, impl.predict_proba(X), y)
        warmup = timed(impl.train_epoch, False)
        after = wl.mean_loss(workload, impl.predict_proba(X), y)
        rows[key] = {"warmup_s": warmup, "loss_before": before, "loss_after": after}
    if not rows:
        return rows
    ref = rows[next(iter(rows))]
    for row in rows.values():
        row["rel_diff"] = abs(row["loss_after"] - ref["loss_after"]) / abs(ref["loss_after"])
        same_start = abs(row["loss_before"] - ref["loss_before"]) <= 1e-4 * ref["loss_before"]
        row["agrees"] = bool(same_start and row["rel_diff"] <= workload.loss_rtol)
    return rows


# Seconds of rest before each timed call: an OpenBLAS thread keeps spinning for about 2**28
# cycles after its last task (OpenBLAS's THREAD_TIMEOUT; 0.1 s measured), as do other
# libraries' idle pool threads for a while, taking a core from whatever runs next, so without a
# rest each implementation was timed against the previous one's spinning threads. A core woken
# from the rest runs slower for a while (B1's 2.7 ms epoch took 3.5 ms straight after a rest),
# so after the rest each implementation runs its call once untimed (``warm_up``).
SETTLE_S = 0.25


def alternate(calls, repeats, settle=SETTLE_S, warm_up=True):
    """Time each callable ``repeats`` times, one round over all of them at a time, the order
    rotated every round so none always runs first; each timed call comes after ``settle``
    seconds of rest and, with ``warm_up``, one untimed call of the same callable.
    {key: [seconds, ...]}."""
    keys = list(calls)
    times = {key: [] for key in keys}
    for r in range(repeats):
        shift = r % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            time.sleep(settle)
            if warm_up:
                calls[key]()
            times[key].append(timed(calls[key]))
    return times


def stats(times):
    """Median, min, max and the relative spread (max - min) / median of a list of times."""
    t = np.asarray(times, dtype=np.float64)
    median = float(np.median(t))
    return {"median": median, "min": float(t.min()), "max": float(t.max()),
            "spread": float((t.max() - t.min()) / median) if median > 0 else 0.0}


def load_average():
    return os.getloadavg()[0]
