"""fastnn's warm-up epoch in a fresh process: ``python -m bench.warmup B1 full`` prints JSON.

The first ``fit`` epoch of a new process loads the compiled kernels from the on-disk cache (the
report has already compiled them), so its excess over the second epoch is what a user pays for
compilation with a warm cache. ``import_s`` is the cost of ``import fastnn``.
"""

import json
import sys
import time

from . import threads

threads.pin()


def main(argv=None):
    workload_id, scale = (argv or sys.argv[1:])[:2]
    from . import workloads as wl

    workload = wl.at_scale(wl.BY_ID[workload_id], scale)
    X, y = wl.make_data(workload)
    weights = wl.initial_weights(workload)
    start = time.perf_counter()
    from .implementations.fastnn_impl import FastnnImpl

    import_s = time.perf_counter() - start
    impl = FastnnImpl(workload, X, y, weights)
    start = time.perf_counter()
    impl.train_epoch()
    first = time.perf_counter() - start
    start = time.perf_counter()
    impl.train_epoch()
    second = time.perf_counter() - start
    print(json.dumps({"import_s": import_s, "first_epoch_s": first, "second_epoch_s": second}))


if __name__ == "__main__":
    main()
