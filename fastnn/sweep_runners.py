"""Where a sweep's runs execute, and one run: ``run_one`` trains and validates one job, and
``dispatch`` runs a list of jobs and returns their records (fastnn.model_selection builds the
jobs and ranks the records).

Where runs execute:
- one run at a time in this process (``n_jobs=1``);
- local processes through joblib (loky), one run per process at a time, ``n_jobs`` processes
  (default: every core);
- an existing Dask distributed cluster, with ``scheduler="tcp://HOST:PORT"`` or the environment
  variable ``FASTNN_DASK_SCHEDULER``; the workers need fastnn installed (docs/sweeps.md).
Each run is single-threaded (BLAS limited to one thread), so parallel runs do not oversubscribe
the cores and a run gives the same numbers in every place.

A run that raises (a loss that diverges, a setting the network rejects) or whose worker dies is
reported with its error in its run record and its row of the table; the other runs are kept.

Compiling: each run record says which worker ran it (``host:pid``) and how long Numba spent
compiling fastnn's kernels during it (``compile_seconds``, ``compiled`` specialisations: 0 where
the worker loaded them from the compile cache or had them from an earlier run);
``SweepResult.compile_seconds`` sums them per worker. A worker that compiles logs it once, as a
warning on the logger "fastnn" (``fastnn compile`` prepares the cache: docs/compile.md).
"""

import contextlib
import copy
import logging
import os
import socket
import time
import uuid
import warnings

import numpy as np

from . import threads

log = logging.getLogger("fastnn")

SCHEDULER_ENV = "FASTNN_DASK_SCHEDULER"

# ----------------------------------------------------------------------------- one run
_said_compiling = False


def worker_name():
    """This process as run records name it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _say_compiling(message):
    """Log, once per process, that this worker compiles the kernels (``message``: what and how
    long, from compile_cache.note_compiling)."""
    global _said_compiling
    if not _said_compiling:
        _said_compiling = True
        log.warning("worker %s has no compiled kernels for its runs: %s", worker_name(), message)


@contextlib.contextmanager
def _single_threaded():
    """Every loaded BLAS and OpenMP pool on one thread while the body runs. The BLAS through
    fastnn's shared limit (threads.limited, which loads SciPy's OpenBLAS, the one Numba's
    products call, so that it is limited too): runs in several threads of one worker take
    turns with it, and it holds in any thread. OpenMP pools, limited per thread, through
    threadpoolctl."""
    from threadpoolctl import threadpool_limits

    with threads.limited(1), threadpool_limits(limits=1, user_api="openmp"):
        yield


def run_one(job, build_fn, data, options):
    """Train and validate one run on ``data`` = (X, y); never raises: errors go into the
    returned record.

    ``job``: {"run", "setting", "fold", "seed", "train", "val", "data" (which dataset)};
    ``options``: {"epochs", "batch_size", "metric", "fit_options"}. Returns {"run", "setting",
    "fold", "seed", "score", "error", "history", "epochs", "seconds", "warnings" (the messages
    of the warnings the run raised, kept here rather than printed by a worker), "worker",
    "compile_seconds", "compiled" (module docstring)}.
    """
    from .compile_cache import note_compiling

    record = _failed(job, None)
    record["worker"] = worker_name()
    start = time.perf_counter()
    metric = options["metric"]
    X, y = data
    caught, watch = [], None
    try:
        with note_compiling(_say_compiling) as watch, _single_threaded(), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = build_fn(seed=job["seed"], **job["setting"])
            train, val = job["train"], job["val"]
            history = model.fit(X[train], y[train], validation_data=(X[val], y[val]),
                                epochs=options["epochs"], batch_size=options["batch_size"],
                                **copy.deepcopy(options["fit_options"]))
            record["history"] = {k: list(v) for k, v in history.history.items()}
            record["epochs"] = len(history.epoch)
            if history.stop_reason == "diverged":  # stopped quietly, by TerminateOnNaN
                raise FloatingPointError(f"the loss became NaN or infinite in epoch "
                                         f"{record['epochs']}; training stopped")
            score = float(model.evaluate(X[val], y[val])[metric])
            if not np.isfinite(score):
                raise FloatingPointError(f"the validation {metric} is {score}: the run diverged")
            record["score"] = score
    except Exception as exc:  # a run's failure is data for the table, not a crash of the sweep
        record["error"] = f"{type(exc).__name__}: {exc}"
        partial = getattr(exc, "history", None)  # fit's divergence error carries the curves
        if partial is not None:
            record["history"] = {k: list(v) for k, v in partial.history.items()}
            record["epochs"] = len(partial.epoch)
    record["warnings"] = list(dict.fromkeys(str(w.message) for w in caught))
    record["seconds"] = time.perf_counter() - start
    if watch is not None:
        record["compile_seconds"], record["compiled"] = watch.seconds, watch.compiled
    return record


def _failed(job, error):
    """The record of a run that produced nothing (before it starts, or lost with its worker)."""
    return {"run": job["run"], "setting": job["setting"], "fold": job["fold"],
            "seed": job["seed"], "score": None, "error": error, "history": {}, "epochs": 0,
            "seconds": 0.0, "warnings": [], "worker": None, "compile_seconds": 0.0,
            "compiled": 0}


# ----------------------------------------------------------------------------- runners
def _run_in_process(jobs, build_fn, datasets, options):
    return [run_one(job, build_fn, datasets[job["data"]], options) for job in jobs]


def _run_with_joblib(jobs, build_fn, datasets, options, n_jobs):
    """Local processes (loky), each limited to one thread. If a worker process dies, joblib
    stops the pool: the runs finished by then are kept, the others reported with the error."""
    from joblib import Parallel, delayed, parallel_config

    records = {}
    try:
        with parallel_config(backend="loky", inner_max_num_threads=1):
            results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(run_one)(job, build_fn, datasets[job["data"]], options) for job in jobs)
            for record in results:
                records[record["run"]] = record
    except Exception as exc:  # joblib's TerminatedWorkerError and friends
        error = f"{type(exc).__name__}: a worker process died before this run finished ({exc})"
        for job in jobs:
            records.setdefault(job["run"], _failed(job, error))
    return [records[job["run"]] for job in jobs]


def _worker_fastnn_version():
    from . import __version__

    return __version__


def _data_task(data):
    return data


def _run_on_dask(jobs, build_fn, datasets, options, address):
    """Runs as tasks on the Dask cluster at ``address``. A run whose worker dies is retried by
    Dask on another worker; when Dask gives up (KilledWorker) the run is reported with that
    error and the other runs are kept. Each dataset is one task (not scattered data), so Dask
    can recompute it, and the results that a dead worker held, from the graph."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("running on a Dask cluster needs dask[distributed]: "
                          "pip install 'fastnn[dist]'") from None
    from . import __version__

    if not isinstance(address, str) or "://" not in address:
        raise ValueError(f"scheduler must be an address such as tcp://HOST:8786, got {address!r}")
    try:
        client = Client(address, timeout=20, set_as_default=False)
    except OSError as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=60)
        except TimeoutError:
            raise ConnectionError(f"the Dask scheduler at {address} has no workers") from None
        try:
            versions = client.run(_worker_fastnn_version)
        except Exception as exc:
            raise RuntimeError(f"the Dask workers at {address} cannot import fastnn ({exc}); "
                               "install fastnn on every worker (docs/sweeps.md)") from None
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            raise RuntimeError(f"Dask workers run another fastnn version than {__version__}: "
                               f"{wrong}; install the same version everywhere")
        tag = uuid.uuid4().hex[:8]
        data_f = [client.submit(_data_task, data, key=f"fastnn-data-{tag}-{i}")
                  for i, data in enumerate(datasets)]
        waiting = list(reversed(jobs))
        in_flight = {}
        done = as_completed(loop=client.loop)

        def top_up():
            # one run per worker thread: a worker that dies takes only its own run with it
            while waiting and len(in_flight) < max(1, sum(client.nthreads().values())):
                job = waiting.pop()
                future = client.submit(run_one, job, build_fn, data_f[job["data"]], options,
                                       key=f"fastnn-run-{tag}-{job['run']}")
                in_flight[future] = job
                done.add(future)

        top_up()
        records = {}
        for future in done:
            job = in_flight.pop(future)
            try:
                records[job["run"]] = future.result()
            except Exception as exc:  # KilledWorker, a lost connection, ...
                records[job["run"]] = _failed(job, f"{type(exc).__name__}: {exc}")
            top_up()
    return [records[job["run"]] for job in jobs]


def dispatch(jobs, build_fn, datasets, options, n_jobs, scheduler):
    """The records of ``jobs``, in job order, run where ``n_jobs`` and ``scheduler`` (or
    SCHEDULER_ENV) say (module docstring)."""
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        return _run_on_dask(jobs, build_fn, datasets, options, address)
    if n_jobs is None or n_jobs == -1:
        from joblib import cpu_count

        n_jobs = cpu_count()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, -1 or None, got {n_jobs!r}")
    n_jobs = min(int(n_jobs), len(jobs))
    if n_jobs == 1:
        return _run_in_process(jobs, build_fn, datasets, options)
    return _run_with_joblib(jobs, build_fn, datasets, options, n_jobs)
