"""Feature preprocessing, fitted on the training rows and stored in the model file.

    numeric column      missing values -> the training median; then (x - mean) / scale, with
                        mean and scale (population standard deviation, 1 for a constant column)
                        of the imputed training values; booleans count as 0/1 numbers
    string column       one-hot over the categories seen in training (sorted); a category not
                        seen in training, or a missing value, maps to all zeros (as scikit-learn's
                        OneHotEncoder with handle_unknown="ignore")

``FeatureEncoder.to_dict()`` is plain JSON; ``from_dict`` rebuilds the same transform, and
``transform`` checks that a new table has exactly the columns the encoder was fitted on.
"""

import numpy as np

from .errors import InputError

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def is_numeric_column(series):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _numeric_values(series, name):
    """The column as float64 with NaN for missing; InputError for a non-numeric value."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy()
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    bad = values.isna() & series.notna()
    if bad.any():
        example = series[bad].iloc[0]
        raise InputError(f"column {name!r} must be numeric (it was in training), "
                         f"but has the value {example!r}")
    return values.to_numpy()


def _category_codes(series, categories):
    """Each value's index in ``categories`` (compared as strings); -1 where missing or unseen."""
    import pandas as pd

    return pd.Index(categories, dtype="string").get_indexer(series.astype("string"))


class FeatureEncoder:
    """The fitted transform from a table's feature columns to the model's input matrix."""

    def __init__(self, columns):
        self.columns = columns

    @classmethod
    def fit(cls, frame):
        """Fit on the training rows' feature columns (InputError for an entirely empty one)."""
        columns = []
        for name in frame.columns:
            series = frame[name]
            if series.isna().all():
                raise InputError(f"column {name!r} is entirely empty")
            if is_numeric_column(series):
                values = _numeric_values(series, name)
                median = float(np.nanmedian(values))
                filled = np.where(np.isnan(values), median, values)
                scale = float(filled.std())
                columns.append({"name": name, "kind": NUMERIC, "median": median,
                                "mean": float(filled.mean()),
                                "scale": scale if scale > 0 else 1.0})
            else:
                categories = sorted(series.dropna().astype("string").unique().tolist())
                columns.append({"name": name, "kind": CATEGORICAL, "categories": categories})
        return cls(columns)

    @property
    def names(self):
        return [c["name"] for c in self.columns]

    @property
    def input_names(self):
        """The model's input columns: a numeric column's name, or ``column=category``."""
        out = []
        for c in self.columns:
            if c["kind"] == NUMERIC:
                out.append(c["name"])
            else:
                out.extend(f"{c['name']}={v}" for v in c["categories"])
        return out

    @property
    def width(self):
        return len(self.input_names)

    def check_columns(self, frame, ignore=()):
        """InputError unless ``frame`` has exactly the fitted columns (plus any in ``ignore``)."""
        present = [n for n in frame.columns if n not in ignore]
        missing = [n for n in self.names if n not in frame.columns]
        extra = [n for n in present if n not in self.names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
            raise InputError(f"the columns do not match the model's: {'; '.join(parts)} "
                             f"(the model expects {', '.join(map(repr, self.names))})")

    def transform(self, frame):
        """(X float64 of shape (rows, width), number of numeric values imputed,
        number of missing categorical values)."""
        blocks, imputed, missing_categories = [], 0, 0
        for c in self.columns:
            series = frame[c["name"]]
            if c["kind"] == NUMERIC:
                values = _numeric_values(series, c["name"])
                missing = np.isnan(values)
                imputed += int(missing.sum())
                values = np.where(missing, c["median"], values)
                blocks.append(((values - c["mean"]) / c["scale"])[:, None])
            else:
                codes = _category_codes(series, c["categories"])
                missing_categories += int(series.isna().sum())
                onehot = np.zeros((len(codes), len(c["categories"])))
                rows = np.flatnonzero(codes >= 0)
                onehot[rows, codes[rows]] = 1.0
                blocks.append(onehot)
        X = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
        return X, imputed, missing_categories

    def to_dict(self):
        return {"columns": self.columns}

    @classmethod
    def from_dict(cls, data):
        return cls(data["columns"])
