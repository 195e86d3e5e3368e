"""Feature columns: fitted on the training rows, stored as JSON in the model file, applied to
every table the model sees.

    numeric column      (booleans count as 0/1) a missing value becomes the training median;
                        then z = (x - mean) / scale with the mean and the population standard
                        deviation of the imputed training values (scale 1 for a constant
                        column). The statistics are computed on the values divided by a power
                        of two near their largest magnitude, so no value up to the float64
                        maximum overflows them.
    string column       one-hot over the categories seen in training (sorted, compared as
                        text); an unseen category or a missing value is all zeros (as
                        scikit-learn's OneHotEncoder with handle_unknown="ignore").
    high-cardinality    a string column with more than ``max_levels`` categories, or with more
                        than half its values distinct (and more than MIN_ID_LEVELS categories:
                        an id, a name, free text), is handled by ``high_cardinality``:
                        "drop" leaves it out (logged as a warning naming it), "top" keeps the
                        max_levels - 1 most frequent categories plus one "other" column,
                        "hash" one-hot encodes crc32(value) mod max_levels.

The encoded matrix is float32 (or the model's float64), allocated once after checking that it
fits in the memory available. Non-finite numbers are refused, naming the column and the first
row (rows are counted from 1, the first data row of a file); so is a column of numbers with a
stray word in it, which would otherwise become a category per value.
"""

import logging
import zlib

import numpy as np

from ..memory import check_memory

log = logging.getLogger("fastnn")

NUMERIC = "numeric"
CATEGORICAL = "categorical"
HASHED = "hashed"
HIGH_CARDINALITY = ("drop", "top", "hash")
MAX_LEVELS = 1000
MIN_ID_LEVELS = 20
# A text column whose non-missing values are at least this share numbers is a numeric column
# with stray words.
NUMBER_SHARE = 0.9
OTHER = "<other>"


def row_label(index, position):
    """'row N' (counted from 1) for a default integer index, else 'row <label>'."""
    label = index[position]
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        return f"row {int(label) + 1}"
    return f"row {label!r}"


def is_numeric_column(series):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def numeric_values(series, name, trained=True):
    """The column as float64 with NaN for missing; ValueError naming the column and row for a
    value that is not a number or not finite."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy()
    if pd.api.types.is_complex_dtype(series):
        raise ValueError(f"column {name!r} holds complex numbers; fastnn takes real numbers")
    with np.errstate(all="ignore"):
        values = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
    bad = np.flatnonzero(np.isnan(values) & series.notna().to_numpy())
    if bad.size:
        was = " (it was in training)" if trained else ""
        raise ValueError(f"column {name!r} must be numeric{was}, but has the value "
                         f"{shown(series.iloc[bad[0]])} in {row_label(series.index, bad[0])}")
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        raise ValueError(f"column {name!r} has the non-finite value {values[infinite[0]]} in "
                         f"{row_label(series.index, infinite[0])}")
    return values


def _power_of_two_near(value):
    """2^k with value / 2^k in [1, 2) (1.0 for 0): dividing by it is exact, and it is finite
    for every finite value."""
    return 1.0 if value == 0 else float(np.ldexp(1.0, int(np.frexp(value)[1]) - 1))


def shown(value):
    """A cell value as messages show it (numpy scalars as Python values)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _median(values):
    """The median of finite values without overflow: the midpoint as a/2 + b/2."""
    n = values.size
    middle = np.partition(values, [(n - 1) // 2, n // 2])
    return float(middle[(n - 1) // 2] / 2 + middle[n // 2] / 2)


def numeric_statistics(values):
    """{"median", "mean", "scale"} of a column's values (NaN: missing, at least one present),
    free of overflow (see the module docstring)."""
    present = values[~np.isnan(values)]
    median = _median(present)
    filled = np.where(np.isnan(values), median, values)
    unit = _power_of_two_near(float(np.max(np.abs(filled))))
    scaled = filled / unit
    mean = float(scaled.mean())
    spread = float(np.sqrt(np.mean((scaled - mean) ** 2)))
    scale = spread * unit
    return {"median": median, "mean": mean * unit, "scale": scale if scale > 0 else 1.0}


def standardise(values, column):
    """(values - mean) / scale as float64, computed on the values divided by a power of two
    near max(|mean|, scale), so it overflows only where the result itself is out of range."""
    unit = _power_of_two_near(max(abs(column["mean"]), column["scale"]))
    with np.errstate(all="ignore"):
        return (values / unit - column["mean"] / unit) / (column["scale"] / unit)


def _text(series):
    return series.astype("string")


def _stray_words(series, name):
    """ValueError when a text column holds mostly numbers (a numeric column with stray words)."""
    import pandas as pd

    present = series.notna().to_numpy()
    with np.errstate(all="ignore"):
        parsed = pd.to_numeric(series, errors="coerce").notna().to_numpy()
    words = np.flatnonzero(present & ~parsed)
    n_present, n_parsed = int(present.sum()), int(parsed.sum())
    if words.size and n_parsed >= NUMBER_SHARE * n_present:
        raise ValueError(f"column {name!r} holds numbers but also the text "
                         f"{shown(series.iloc[words[0]])} in {row_label(series.index, words[0])} "
                         f"({words.size} such value(s)); correct or empty those cells, or drop "
                         f"the column")


def _levels(series):
    """The categories of a text column with their counts, most frequent first (ties: by
    text)."""
    counts = _text(series.dropna()).value_counts()
    pairs = sorted(zip(counts.index.tolist(), counts.tolist()), key=lambda p: (-p[1], p[0]))
    return pairs


def _fit_text_column(series, name, high_cardinality, max_levels):
    """The column's spec, or None when it is left out."""
    _stray_words(series, name)
    levels = _levels(series)
    n_values = int(series.notna().sum())
    many = len(levels) > max_levels or (len(levels) > MIN_ID_LEVELS
                                        and len(levels) > 0.5 * n_values)
    if not many:
        return {"name": name, "kind": CATEGORICAL, "categories": sorted(c for c, _ in levels)}
    if high_cardinality == "drop":
        log.warning("left out column %r: %d distinct values in %d rows (an id or free text?); "
                    "keep it hashed or capped to its most frequent values with the "
                    "high-cardinality option", name, len(levels), n_values)
        return None
    if high_cardinality == "hash":
        return {"name": name, "kind": HASHED, "buckets": int(max_levels)}
    top = sorted(c for c, _ in levels[:max(1, max_levels - 1)])
    return {"name": name, "kind": CATEGORICAL, "categories": top, "other": True}


def _bucket(text, buckets):
    return zlib.crc32(text.encode("utf-8")) % buckets


class FeatureEncoder:
    """The fitted transform from a table's feature columns to the network's input matrix.

    ``columns``: one spec per encoded column (the module docstring's kinds); ``ignored``: the
    columns left out (high-cardinality ones, and those the user dropped), which predict accepts
    and ignores."""

    def __init__(self, columns, ignored=()):
        self.columns = list(columns)
        self.ignored = list(ignored)

    @classmethod
    def fit(cls, frame, high_cardinality="drop", max_levels=MAX_LEVELS, dropped=()):
        """Fit on the training rows' feature columns (ValueError for an entirely empty one);
        ``dropped`` names columns the user left out."""
        if high_cardinality not in HIGH_CARDINALITY:
            raise ValueError(f"high_cardinality must be one of {', '.join(HIGH_CARDINALITY)}, "
                             f"got {high_cardinality!r}")
        columns, ignored = [], list(dropped)
        for name in frame.columns:
            if name in ignored:
                continue
            series = frame[name]
            if series.isna().all():
                raise ValueError(f"column {name!r} is entirely empty")
            if is_numeric_column(series):
                statistics = numeric_statistics(numeric_values(series, name, trained=False))
                columns.append({"name": name, "kind": NUMERIC, **statistics})
                continue
            spec = _fit_text_column(series, name, high_cardinality, max_levels)
            if spec is None:
                ignored.append(name)
            else:
                columns.append(spec)
        if not columns:
            raise ValueError("no feature column is left to train on")
        return cls(columns, ignored)

    @property
    def names(self):
        return [c["name"] for c in self.columns]

    def input_names(self):
        """The network's input columns: a numeric column's name, ``column=category``,
        ``column=<other>``, or ``column#bucket``."""
        out = []
        for c in self.columns:
            if c["kind"] == NUMERIC:
                out.append(c["name"])
            elif c["kind"] == HASHED:
                out.extend(f"{c['name']}#{b}" for b in range(c["buckets"]))
            else:
                out.extend(f"{c['name']}={v}" for v in c["categories"])
                if c.get("other"):
                    out.append(f"{c['name']}={OTHER}")
        return out

    @property
    def width(self):
        return sum(_width(c) for c in self.columns)

    def check_columns(self, frame, ignore=()):
        """ValueError unless ``frame`` has every encoded column and no column beyond them, the
        ignored ones and ``ignore``."""
        allowed = set(self.names) | set(self.ignored) | set(ignore)
        missing = [n for n in self.names if n not in frame.columns]
        extra = [n for n in frame.columns if n not in allowed]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
            raise ValueError(f"the columns do not match the model's: {'; '.join(parts)} "
                             f"(the model expects {', '.join(map(repr, self.names))})")

    def transform(self, frame, dtype=np.float32):
        """(X of shape (rows, width) and ``dtype``, numeric values imputed, missing categorical
        values); ValueError for a value that cannot be encoded."""
        dtype = np.dtype(dtype)
        n = len(frame)
        check_memory(n * self.width * dtype.itemsize,
                     f"the encoded table ({n} rows x {self.width} columns, {dtype.name})")
        X = np.zeros((n, self.width), dtype=dtype)
        imputed = missing_categories = 0
        start = 0
        for c in self.columns:
            series = frame[c["name"]]
            if c["kind"] == NUMERIC:
                values = numeric_values(series, c["name"])
                missing = np.isnan(values)
                imputed += int(missing.sum())
                z = standardise(np.where(missing, c["median"], values), c)
                with np.errstate(all="ignore"):
                    X[:, start] = z
                _check_representable(X[:, start], series, c["name"], dtype)
            else:
                missing_categories += int(series.isna().sum())
                codes = _codes(series, c)
                rows = np.flatnonzero(codes >= 0)
                X[rows, start + codes[rows]] = 1
            start += _width(c)
        return X, imputed, missing_categories

    def to_dict(self):
        return {"columns": self.columns, "ignored": self.ignored}

    @classmethod
    def from_dict(cls, data):
        return cls(data["columns"], data.get("ignored", []))


def _width(column):
    if column["kind"] == NUMERIC:
        return 1
    if column["kind"] == HASHED:
        return column["buckets"]
    return len(column["categories"]) + (1 if column.get("other") else 0)


def _codes(series, column):
    """Each row's one-hot position within the column's block; -1 for all zeros."""
    import pandas as pd

    text = _text(series)
    if column["kind"] == HASHED:
        buckets = column["buckets"]
        uniques = text.dropna().unique()
        mapping = {value: _bucket(value, buckets) for value in uniques}
        return text.map(mapping).fillna(-1).to_numpy(dtype=np.int64)
    codes = pd.Index(column["categories"], dtype="string").get_indexer(text)
    if column.get("other"):
        codes = np.where((codes < 0) & series.notna().to_numpy(), len(column["categories"]),
                         codes)
    return codes


def _check_representable(encoded, series, name, dtype):
    bad = np.flatnonzero(~np.isfinite(encoded))
    if bad.size:
        raise ValueError(f"column {name!r}: the value {shown(series.iloc[bad[0]])} in "
                         f"{row_label(series.index, bad[0])} is too far from the training "
                         f"values to be represented in {dtype.name} once scaled")
