"""B5's measurements, shared by the report (bench/report.py) and the pytest suite
(bench/test_inference.py): implementations timed alternately in one process.

    one_row(impls, rows, calls)       per implementation, one row per call: wall-clock p50 and
                                      p99 (µs) and the calling thread's CPU time per call (µs,
                                      the median over blocks; other processes' load moves it
                                      far less than the wall clock)
    many_rows(impls, X, repeats)      per implementation, seconds per call on all of X
    alternate_settled(calls, repeats) runner.alternate with a pause before each timed call
    thread_scaling(predict, X, ...)   rows per second of ``predict`` called from 1, 2, ...
                                      Python threads at once, each its own rows
    WeightsRead(params)               a stand-in for one_row that only reads a network's
                                      weights: the floor of a one-row call
"""

import threading
import time

import numba
import numpy as np

from . import runner

BLOCK = 100  # calls per implementation before the next one takes over


@numba.njit(fastmath=True)
def _sum(values):
    total = values.dtype.type(0)
    for i in range(values.size):
        total += values[i]
    return total


class WeightsRead:
    """Stands in for an implementation in ``one_row``: each call sums ``params`` (a flat
    buffer of the network's weights) in one compiled pass and computes nothing else. A one-row
    prediction reads every weight once, so this call's time, with the weights in the cache as
    they are for a prediction, is the least a one-row call can take."""

    def __init__(self, params):
        self.params = params
        _sum(params)

    def predict_proba(self, row):
        return _sum(self.params)


def one_row(impls, rows, calls):
    """{key: {"p50_us", "p99_us", "cpu_us"}}: ``calls`` one-row predictions per implementation
    (cycling through ``rows``, a list of (1, d) arrays), in blocks of BLOCK calls that
    alternate between the implementations, the order rotated every round."""
    for impl in impls.values():
        for row in rows[:50]:
            impl.predict_proba(row)
    walls = {key: [] for key in impls}
    cpus = {key: [] for key in impls}
    keys = list(impls)
    for start in range(0, calls, BLOCK):
        shift = (start // BLOCK) % max(len(keys), 1)
        for key in keys[shift:] + keys[:shift]:
            predict, wall = impls[key].predict_proba, walls[key]
            stop = min(start + BLOCK, calls)
            cpu_start = time.thread_time()
            for i in range(start, stop):
                wall.append(runner.timed(predict, rows[i % len(rows)]))
            cpus[key].append((time.thread_time() - cpu_start) / (stop - start))
    result = {}
    for key in impls:
        lat_us = np.asarray(walls[key]) * 1e6
        result[key] = {"p50_us": float(np.percentile(lat_us, 50)),
                       "p99_us": float(np.percentile(lat_us, 99)),
                       "cpu_us": float(np.median(cpus[key])) * 1e6}
    return result


def many_rows(impls, X, repeats):
    """{key: [seconds, ...]}: ``repeats`` predictions of all of X per implementation,
    alternating."""
    return alternate_settled({key: (lambda p=impl.predict_proba: p(X))
                              for key, impl in impls.items()}, repeats)


def alternate_settled(calls, repeats):
    """``runner.alternate`` (each callable ``repeats`` times, one round at a time, the order
    rotated every round), resting runner.SETTLE_S seconds before each timed call."""
    keys = list(calls)
    times = {key: [] for key in keys}
    for r in range(repeats):
        shift = r % len(keys) if keys else 0
        for key in keys[shift:] + keys[:shift]:
            time.sleep(runner.SETTLE_S)
            times[key].append(runner.timed(calls[key]))
    return times


def thread_scaling(predict, X, counts, calls, rows, repeats):
    """{count: rows per second (median over ``repeats`` rounds)}: ``count`` Python threads at
    once, each making ``calls`` calls of ``predict`` on ``rows`` rows of X (its own slice); the
    counts alternate within each round, the order rotated every round."""
    span = max(1, X.shape[0] - rows + 1)

    def round_of(count):
        barrier = threading.Barrier(count + 1)

        def work(thread):
            barrier.wait()
            for c in range(calls):
                first = ((thread * calls + c) * rows) % span
                predict(X[first:first + rows])

        workers = [threading.Thread(target=work, args=(t,)) for t in range(count)]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        return count * calls * rows / (time.perf_counter() - start)

    for count in counts:
        round_of(count)  # warm-up: workspaces for every thread
    rates = {count: [] for count in counts}
    for r in range(repeats):
        shift = r % len(counts)
        for count in counts[shift:] + counts[:shift]:
            rates[count].append(round_of(count))
    return {count: float(np.median(v)) for count, v in rates.items()}
