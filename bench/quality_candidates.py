"""Candidates for the small-table defaults that are not a set of options: ``python -m
bench.quality_candidates`` (docs/defaults.md, "Small tables: more seeds").

Trains, in this process with the library (``fastnn.TabularModel`` on the study's frames, not
the command's CSV round trip), on the study's splits of each table for seeds 0..N-1:

    T1     one network validated on a 20% hold-out (``cross_fit=1``): the rule before
           cross-fitting (candidate T of docs/defaults.md's exploration)
    R      refit: T1, then a fresh network (same seed, same layers, dropout and batch size)
           trained on every training row, validation rows included, for the updates of T1's
           best epoch (rounded up to whole epochs), without early stopping
    W      T1 with an L2 penalty of 1 / (training rows): a fixed Gaussian prior on the
           weights, which weighs more the fewer rows there are
    X      the defaults (``TabularModel(target=...)`` with no options): below 1000 training
           rows, 5 cross-fitted networks averaged
    XW     X with W's L2 penalty
    sklearn_mlp   the study's scikit-learn MLP, for reference

and prints per table the mean test accuracy or R2 over seeds 0-2 (the study's) and over all N
seeds.

    python -m bench.quality_candidates --tables iris,penguins --seeds 10
"""

import argparse
import logging
import math

import numpy as np

from . import quality_methods as methods
from . import quality_tables as tables

CANDIDATES = ("T1", "R", "W", "X", "XW", "sklearn_mlp")
# The study's tables with fewer than 1000 training rows after the validation rows: the rule's
# small-table range.
SMALL = ("iris", "wine", "breast_cancer", "diabetes", "titanicsurvival", "mroz", "penguins",
         "beps", "salaries")


def refit(table, model, train, seed):
    """A network trained on every row of ``train`` for the updates of ``model``'s best epoch."""
    import fastnn as fn

    used = model.settings
    report = model.fit_report
    best = report["best_epoch"] or report["epochs"]
    updates = best * math.ceil(report["rows"]["train"] / used["batch_size"])
    epochs = math.ceil(updates / math.ceil(len(train) / used["batch_size"]))
    return fn.TabularModel(target=table.target, seed=seed, val_split=0, epochs=epochs,
                           early_stopping=0, layers=used["layers"], dropout=used["dropout"],
                           batch_size=used["batch_size"]).fit(train)


def score(table, train, test, seed, candidate):
    """The test score of ``candidate`` on one split."""
    import fastnn as fn

    if candidate == "sklearn_mlp":
        return methods.PEERS["sklearn_mlp"](table, train, test, seed, None).score
    rows = len(train) - round(0.2 * len(train))  # each network's training rows
    if candidate in ("X", "XW"):
        model = fn.TabularModel(target=table.target, seed=seed,
                                l2=1.0 / rows if candidate == "XW" else 0.0).fit(train)
    elif candidate == "W":
        model = fn.TabularModel(target=table.target, seed=seed, cross_fit=1,
                                l2=1.0 / rows).fit(train)
    else:
        model = fn.TabularModel(target=table.target, seed=seed, cross_fit=1).fit(train)
        if candidate == "R":
            model = refit(table, model, train, seed)
    return methods._score(table.task, model.predict(test), test[table.target])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.quality_candidates",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default=",".join(SMALL))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args(argv)
    logging.getLogger("fastnn").setLevel(logging.ERROR)
    from threadpoolctl import threadpool_limits

    shown = args.candidates.split(",")
    print("| table | " + " | ".join(shown) + " |")
    print("|---|" + "---|" * len(shown))
    with threadpool_limits(1):
        for name in args.tables.split(","):
            table = tables.load(name)
            scores = {c: [] for c in shown}
            for seed in range(args.seeds):
                train, test = tables.split(table, seed)
                for c in shown:
                    scores[c].append(score(table, train, test, seed, c))
            cells = [f"{np.mean(s[:3]):.3f} / {np.mean(s):.3f}" for s in scores.values()]
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
