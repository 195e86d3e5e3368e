"""Compile every kernel that fastnn can need, through the public API, and record it.

``python -m fastnn.precompile --dtype float32`` runs, in a fresh process, tiny workloads (16 rows,
2 epochs) that together take every path a ``dtype`` run can take: every layer kind, activation,
loss, optimizer (presets included) and schedule, clipping, weight penalties, the gradient monitor,
validation and early stopping, predict/evaluate/diagnose/compute_gradients, and the Perceptron.
Numba compiles what is not in the cache (fastnn.compile_cache) and loads what is. The kernels the
process then holds are recorded as the ``dtype`` list that ``kernels_cached`` checks, and one
JSON line reports what was compiled, where, and how long it took.

``compile_kernels`` runs it once per dtype, each in its own process (a later fresh process is
what it prepares for: such a process loads only the kernels it calls from Python), skipping a
dtype whose kernels the cache already holds. The build backend and ``fastnn compile`` use it.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

import fastnn as fn

from . import compile_cache, kernel_scope

ROWS, FEATURES, CLASSES = 16, 4, 3
# Activations that Sequential.compile refuses to train (fastnn.Perceptron trains step): they are
# run forward only.
FORWARD_ONLY_ACTIVATIONS = {"step"}

# Arguments that build each schedule (fastnn.schedules.SCHEDULES) for a 2-epoch run of 4 batches.
SCHEDULE_ARGUMENTS = {
    "constant": {"learning_rate": 0.01},
    "time_based_decay": {"initial_learning_rate": 0.01, "decay_rate": 0.1},
    "exponential_decay": {"initial_learning_rate": 0.01, "k": 0.1},
    "step_decay": {"initial_learning_rate": 0.01, "every": 1},
    "inverse_time_decay": {"initial_learning_rate": 0.01},
    "cyclic": {"base_lr": 0.001, "max_lr": 0.01, "step_size": 2},
    "cosine_decay": {"initial_learning_rate": 0.01, "decay_steps": 8},
    "one_cycle": {"max_lr": 0.01, "total_steps": 8},
}


def every_layer_kind():
    """A network with one layer of each kind (fastnn.layers.LAYERS), weight penalties included."""
    return [fn.Dense(6, activation="relu", kernel_regularizer=fn.l1_l2(1e-4, 1e-4)),
            fn.BatchNormalization(), fn.PReLU(), fn.Dropout(0.25),
            fn.Maxout(4, pieces=2), fn.Activation("tanh"), fn.Dense(1, activation="sigmoid")]


REGRESSION_METRICS = [name for name in fn.metrics.METRICS if name != "accuracy"]


def _targets(loss, rng):
    """(output layer, targets, metrics) that ``loss`` takes, from its spec in fastnn.losses."""
    spec = fn.losses.LOSSES[loss]
    labels = rng.integers(0, CLASSES, ROWS)
    if spec.sparse_targets:
        return fn.Dense(CLASSES, activation="softmax"), labels, ["accuracy"]
    if spec.fused_activation == "softmax":
        return fn.Dense(CLASSES, activation="softmax"), np.eye(CLASSES)[labels], ["accuracy"]
    if spec.fused_activation == "sigmoid" or loss == "hinge":
        return fn.Dense(1, activation=spec.fused_activation), labels % 2, ["accuracy"]
    return fn.Dense(1), rng.standard_normal(ROWS), REGRESSION_METRICS


def workloads(dtype):
    """[(what, function)]: the tiny runs that reach every kernel path of a ``dtype`` run."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((ROWS, FEATURES))
    y = (X[:, 0] > 0).astype(int)

    def train(layers, y_, loss="mse", optimizer="sgd", metrics=None, **fit):
        model = fn.Sequential(layers, input_dim=FEATURES, seed=0, dtype=dtype)
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        model.fit(X, y_, epochs=2, batch_size=4, **fit)
        return model

    def full_model():
        model = train(every_layer_kind(), y, "binary_crossentropy", fn.Adam(clipnorm=1.0),
                      ["accuracy"], validation_data=(X, y),
                      callbacks=[fn.GradientMonitor(), fn.EarlyStopping(patience=1)])
        model.predict(X)
        model.evaluate(X, y)
        model.diagnose(X, y, print_fn=None)
        model.compute_gradients(X, y, return_loss=True)
        train([fn.Dense(3, activation="relu"), fn.Dense(1)], X[:, 1],
              optimizer=fn.SGD(clipvalue=0.5))

    def perceptron():
        fn.Perceptron(max_epochs=2).fit(X, y).predict(X)

    def small(activation="relu", optimizer="sgd"):
        train([fn.Dense(3, activation=activation), fn.Dense(1)], X[:, 0], optimizer=optimizer)

    def with_activation(name):
        layers = [fn.Dense(3, activation=name), fn.Dense(1)]
        fn.Sequential(layers, input_dim=FEATURES, seed=0, dtype=dtype).predict(X)
        if name not in FORWARD_ONLY_ACTIVATIONS:
            small(activation=name)

    def with_loss(name):
        output, targets, metrics = _targets(name, rng)
        train([fn.Dense(3, activation="relu"), output], targets, name,
              metrics=metrics).evaluate(X, targets)

    def with_schedule(name):
        schedule = fn.schedules.get({"name": name, **SCHEDULE_ARGUMENTS[name]})
        small(optimizer=fn.SGD(learning_rate=schedule))

    optimizers = list(fn.optimizers.OPTIMIZERS) + list(fn.optimizers.PRESETS)
    return ([("every layer kind, validation, predict, evaluate, diagnose", full_model),
             ("perceptron", perceptron)]
            + [(f"activation {name}", lambda name=name: with_activation(name))
               for name in fn.activations.ACTIVATIONS]
            + [(f"loss {name}", lambda name=name: with_loss(name)) for name in fn.losses.LOSSES]
            + [(f"optimizer {name}", lambda name=name: small(optimizer=name))
               for name in optimizers]
            + [(f"schedule {name}", lambda name=name: with_schedule(name))
               for name in fn.schedules.SCHEDULES if name in SCHEDULE_ARGUMENTS])


def prepare(dtype):
    """Run the ``dtype`` workloads in this process and record the kernels it holds as
    prepared; returns the report (a dict, see ``main``)."""
    compile_cache.check_dtype(dtype)
    kernel_scope.compile_every_entry()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, run in workloads(dtype):
            run()
    seconds = time.perf_counter() - start
    compiled, loaded = compile_cache.compile_counts()
    kernels = compile_cache.used_signatures()
    saved = compile_cache.CACHE_DIR is not None and compile_cache.record_prepared(
        dtype, kernels, seconds)
    if compiled:
        compile_cache.record_compile_seconds(dtype, seconds)
    recorded = compile_cache.read_prepared().get(dtype, {}).get("kernels", kernels)
    return {"dtype": dtype, "compiled": compiled, "loaded": loaded, "kernels": len(recorded),
            "seconds": round(seconds, 2), "folder": compile_cache.CACHE_DIR,
            "saved": bool(saved and compile_cache.missing_kernels(dtype) == [])}


def _child_environment():
    """The environment of a child process that imports this same fastnn package."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(fn.__file__)))
    paths = [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def compile_kernels(dtypes=compile_cache.DTYPES, on_report=None):
    """Prepare the cache for each of ``dtypes``: a dtype whose kernels are cached is only
    checked, any other is compiled in a fresh process. Returns the reports (dicts with
    ``dtype``, ``compiled``, ``loaded``, ``kernels``, ``seconds``, ``folder``, ``saved``, and
    ``checked`` True when nothing had to run); ``on_report(report)`` is called as each ends."""
    reports = []
    for dtype in dtypes:
        compile_cache.check_dtype(dtype)
        start = time.perf_counter()
        missing = compile_cache.missing_kernels(dtype)
        if missing == []:
            prepared = compile_cache.read_prepared()[dtype]["kernels"]
            report = {"dtype": dtype, "compiled": 0, "loaded": 0, "kernels": len(prepared),
                      "seconds": round(time.perf_counter() - start, 2),
                      "folder": compile_cache.CACHE_DIR, "saved": True, "checked": True}
        else:
            out = subprocess.run([sys.executable, "-m", "fastnn.precompile", "--dtype", dtype],
                                 capture_output=True, text=True, env=_child_environment())
            if out.returncode != 0:
                raise RuntimeError(f"compiling fastnn's {dtype} kernels failed: "
                                   f"{out.stderr.strip()[-2000:]}")
            report = dict(json.loads(out.stdout.strip().splitlines()[-1]), checked=False)
        reports.append(report)
        if on_report is not None:
            on_report(report)
    return reports


def main(argv=None):
    """Prepare one dtype in this process and print its report as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m fastnn.precompile", description=main.__doc__)
    parser.add_argument("--dtype", choices=compile_cache.DTYPES, default="float32")
    args = parser.parse_args(argv)
    print(json.dumps(prepare(args.dtype)))


if __name__ == "__main__":
    main()
