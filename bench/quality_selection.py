"""Which trials a time-budget search should average: ``python -m bench.quality_selection``
(docs/defaults.md, "Which trials to average").

For each table and seed, one search (``fastnn.tabular.tune.Search``, the study's split, one
thread) runs for ``--budget`` seconds; every trial that ran its course is kept with its
networks' outputs on the rows each was validated on and its average on the test rows. The
ways of choosing are then scored on the same trials:

    best        the best trial alone (by validation score, then loss: the search's ranking)
    top3        the best 3 (``--ensemble 3``)
    greedy3     greedy ensemble selection (Caruana et al., ICML 2004) without repeats: the
                best, then the trial that lowers the validation loss of the average the
                most, until none lowers it or 3 are kept
    greedy10    the same with repeats, 10 steps (a trial weighs by how often it was picked)

A trial's outputs weigh by its networks, as in the saved ensemble. The validation loss is the
log loss (classification) or the squared error of the standardised target (regression).
``--jobs`` searches run at a time, each in its own process on one thread.

    python -m bench.quality_selection --tables iris,mnist1d --seeds 3 --jobs 2
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from fastnn.tabular.scores import regression_scores

from . import quality_tables as tables
from .quality_methods import ONE_THREAD

WAYS = ("best", "top3", "greedy3", "greedy10")


def search_outputs(name, seed, budget):
    """{"task", "y_val", "y_test", "trials": [{"networks", "val", "test"}, ...]} of one search,
    trials in the search's ranking."""
    from fastnn.tabular import fitting
    from fastnn.tabular.model import TabularModel
    from fastnn.tabular.tune import Search, _networks

    table = tables.load(name)
    train, test = tables.split(table, seed)
    search = Search(TabularModel(target=table.target, seed=seed), budget, 1, None, None,
                    {"sep": None, "sample_weight": None, "class_weight": None})
    search.run(train)
    frame, base, task = search.frame, search.base, search.task
    ranked = search.ranked()
    # every trial shares the seed, hence the preprocessing, the target's encoding and the folds
    target = ranked[0].model.target_encoder
    codes = None if task == "regression" else target.codes(frame[search.name])
    if base.cross_fit > 1:  # the folds TabularModel.fit drew: the same seed gives the same ones
        parts = [val for _, val in fitting.cross_folds(len(frame), base.cross_fit, seed, codes)]
    else:
        parts = [fitting.holdout(len(frame), base.val_split, seed, codes)[1]]
    rows = np.concatenate(parts)
    if task == "regression":
        y_val, y_test = (target.encode(frame[search.name].iloc[rows]),
                         target.encode(test[table.target]))
    else:
        y_val, y_test = codes[rows], target.codes(test[table.target])
    record = {"task": task, "y_val": y_val.tolist(), "y_test": y_test.tolist(), "trials": []}
    for trial in ranked:
        model = trial.model
        networks = _networks(model.network)
        val = np.concatenate([net.predict(model.features.transform(frame.iloc[part],
                                                                   base.dtype)[0])
                              for net, part in zip(networks, parts)])
        X_test = model.features.transform(test, base.dtype)[0]
        record["trials"].append({
            "networks": len(networks), "val": val.tolist(),
            "test": np.mean([net.predict(X_test).astype(np.float64) for net in networks],
                            axis=0).tolist()})
    return record


def loss(task, outputs, y):
    """Log loss of class probabilities, or squared error of standardised values."""
    if task == "regression":
        return float(np.mean((outputs[:, 0] - y) ** 2))
    if task == "binary":
        p = np.where(y == 1, outputs[:, 0], 1 - outputs[:, 0])
    else:
        p = outputs[np.arange(len(y)), y.astype(int)]
    return float(-np.mean(np.log(np.clip(p, 1e-7, 1))))


def score(task, outputs, y):
    """Accuracy, or R2 (of the standardised values: the same as of the target's)."""
    if task == "regression":
        return regression_scores(outputs[:, 0], y)["r2"]
    predicted = outputs[:, 0] > 0.5 if task == "binary" else np.argmax(outputs, axis=1)
    return float(np.mean(predicted == y))


def average(trials, counts, part):
    weights = np.array([c * t["networks"] for c, t in zip(counts, trials)], dtype=float)
    return sum(w * np.asarray(t[part]) for w, t in zip(weights, trials)) / weights.sum()


def greedy(task, trials, y, steps, repeats):
    """How many times each trial is picked by greedy selection (module docstring)."""
    counts = np.zeros(len(trials))
    counts[0] = 1
    current = loss(task, average(trials, counts, "val"), y)
    for _ in range(steps - 1):
        options = []
        for i in range(len(trials)):
            if counts[i] and not repeats:
                continue
            trial_counts = counts.copy()
            trial_counts[i] += 1
            options.append((loss(task, average(trials, trial_counts, "val"), y), i))
        if not options or min(options)[0] >= current:
            break
        current, i = min(options)
        counts[i] += 1
    return counts


def scores(record):
    """{way: test score} of one search's trials."""
    task, trials = record["task"], record["trials"]
    y_val, y_test = np.asarray(record["y_val"]), np.asarray(record["y_test"])
    picks = {"best": np.eye(len(trials))[0],
             "top3": (np.arange(len(trials)) < 3).astype(float),
             "greedy3": greedy(task, trials, y_val, 3, repeats=False),
             "greedy10": greedy(task, trials, y_val, 10, repeats=True)}
    return {way: score(task, average(trials, picks[way], "test"), y_test) for way in WAYS}


def run_in_process(name, seed, budget):
    """One search in a fresh single-thread process; its scores and trial count."""
    out = subprocess.run([sys.executable, "-m", "bench.quality_selection", "--one", name,
                          str(seed), "--budget", str(budget)], capture_output=True, text=True,
                         env=dict(os.environ, **ONE_THREAD), check=True)
    return json.loads(out.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(tables.TABLES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--one", nargs=2, metavar=("TABLE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        record = search_outputs(args.one[0], int(args.one[1]), args.budget)
        print(json.dumps({"task": record["task"], "trials": len(record["trials"]),
                          **scores(record)}))
        return
    runs = [(name, seed) for seed in range(args.seeds) for name in args.tables.split(",")]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda run: run_in_process(*run, args.budget), runs))
    by_table = {}
    for (name, _), result in zip(runs, results):
        by_table.setdefault(name, []).append(result)
    print("| table | trials | " + " | ".join(WAYS) + " |")
    print("|---" * (len(WAYS) + 2) + "|")
    means = {}
    for name, found in by_table.items():
        row = [np.mean([r[way] for r in found]) for way in WAYS]
        kind = "R2" if found[0]["task"] == "regression" else "accuracy"
        means.setdefault(kind, []).append(row)
        print(f"| {name} | {np.mean([r['trials'] for r in found]):.0f} | "
              + " | ".join(f"{v:.3f}" for v in row) + " |")
    for kind, rows in means.items():
        print(f"| **mean {kind}** ({len(rows)} tables) | | "
              + " | ".join(f"{v:.4f}" for v in np.mean(rows, axis=0)) + " |")


if __name__ == "__main__":
    main()
