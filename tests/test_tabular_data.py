"""The tabular workflow's table reading, column preprocessing and target encoding (no training)."""

import bz2
import gzip
import json
import logging
import lzma
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from fastnn import memory
from fastnn.tabular.columns import FeatureEncoder
from fastnn.tabular.tables import as_frame, read_table
from fastnn.tabular.target import TargetEncoder
from fastnn.tasks import guess_task, resolve_loss


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


# ----------------------------------------------------------------------------- reading
def test_reads_quoted_fields_crlf_bom_and_spaces_in_names(tmp_path):
    path = write(tmp_path, "t.csv", '\ufeffa b ,"c"\r\n1,"x, ""y"""\r\n2,z\r\n')
    frame = read_table(path)
    assert list(frame.columns) == ["a b", "c"]
    assert frame["c"].tolist() == ['x, "y"', "z"]
    assert frame["a b"].tolist() == [1, 2]


@pytest.mark.parametrize("content, sep, detected", [
    ("a;b;c\n1;2;x\n3;4;y\n", None, "semicolon"),
    ("a\tb\tc\n1\t2\tx\n3\t4\ty\n", None, "tab"),
    ("a|b|c\n1|2|x\n3|4|y\n", None, "'|'"),
    ("a;b;c\n1;2;x\n3;4;y\n", ";", None),
    ("a,b,c\n1,2,x\n3,4,y\n", None, None),
])
def test_separator_is_detected_and_said(tmp_path, caplog, content, sep, detected):
    caplog.set_level(logging.INFO, logger="fastnn")
    frame = read_table(write(tmp_path, "t.csv", content), sep=sep)
    assert frame.to_dict("list") == {"a": [1, 3], "b": [2, 4], "c": ["x", "y"]}
    said = [r.getMessage() for r in caplog.records]
    assert said == ([f"{tmp_path / 't.csv'}: read as {detected}-separated (detected; --sep "
                     f"chooses)"] if detected else [])


@pytest.mark.parametrize("suffix, compress", [
    (".csv.gz", gzip.compress), (".csv.bz2", bz2.compress), (".csv.xz", lzma.compress),
    (".csv.zst", lambda data: pytest.importorskip("zstandard").ZstdCompressor().compress(data)),
])
def test_compressed_csv_by_extension(tmp_path, suffix, compress):
    path = write(tmp_path, "t" + suffix, compress(b"a;b\n1;x\n2;y\n"))
    assert read_table(path).to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


def test_parquet_by_extension(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet").to_dict("list") == frame.to_dict("list")


@pytest.mark.parametrize("module, name, hint", [
    ("zstandard", "t.csv.zst", "reading .zst files needs the zstandard package: pip install "
                               "'fastnn[zstd]'"),
    ("pyarrow", "t.parquet", "reading Parquet files needs the pyarrow package: pip install "
                             "'fastnn[parquet]'"),
])
def test_a_missing_reader_library_is_named(tmp_path, monkeypatch, module, name, hint):
    monkeypatch.setitem(sys.modules, module, None)  # import -> ImportError
    path = write(tmp_path, name, b"PAR1 or zstd bytes")
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value) == f"{path}: {hint}"


@pytest.mark.parametrize("name, content, message", [
    ("e.csv", "", "the file is empty"),
    ("e.csv", "\n\n", "the file is empty"),
    ("h.csv", "a,b,c\n", "header but no data rows"),
    ("r.csv", "a,b,c\n1,2,3\n4,5\n", "malformed CSV (Expected 3 columns, got 2 in line 3: 4,5)"),
    ("r.csv", "a,b\n1,2\n3,4,5\n", "malformed CSV (Expected 2 columns, got 3 in line 3"),
    ("r.csv", "a,b,c\n1,2,3,\n4,5,6,\n", "malformed CSV (Expected 3 columns, got 4 in line 2"),
    ("b.csv", b"\x7fELF\x02\x01\x00\x00binary", "binary data"),
    ("u.csv", b"a,b\n\xff\xfe,1\n", "not UTF-8 text"),
    ("d.csv", "a , a,b\n1,2,3\n", "the column name 'a' appears twice (columns 1 and 2"),
    ("g.csv.gz", "a,b\n1,2\n", "not a readable gzip file"),
])
def test_unreadable_tables_are_named(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_table(str(tmp_path / "nope.csv"))


def test_in_memory_tables():
    pa = pytest.importorskip("pyarrow")
    expected = {"a": [1, 2], "b": ["x", "y"]}
    assert as_frame({"a": [1, 2], "b": ["x", "y"]}).to_dict("list") == expected
    assert as_frame(pa.table(expected)).to_dict("list") == expected

    class Interchange:  # only the dataframe interchange protocol
        def __dataframe__(self, nan_as_null=False, allow_copy=True):
            return pd.DataFrame(expected).__dataframe__()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pandas prefers Arrow now
        assert as_frame(Interchange()).to_dict("list") == expected
    with pytest.raises(ValueError, match="expected a table with named columns"):
        as_frame(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="the column name 'a' appears twice"):
        as_frame(pd.DataFrame([[1, 2]], columns=["a", " a "]))


# ----------------------------------------------------------------------------- columns
def frame_with_missing():
    return pd.DataFrame({"x": [1.0, 2.0, np.nan, 5.0], "colour": ["red", None, "blue", "red"],
                         "flag": [True, False, True, True]})


def test_numeric_columns_are_imputed_with_the_median_then_standardised_in_float32():
    enc = FeatureEncoder.fit(frame_with_missing())
    X, imputed, missing_categories = enc.transform(frame_with_missing())
    assert X.dtype == np.float32
    filled = np.array([1.0, 2.0, 2.0, 5.0])  # the median of 1, 2, 5 is 2
    np.testing.assert_allclose(X[:, 0], (filled - filled.mean()) / filled.std(), rtol=1e-6)
    assert (imputed, missing_categories) == (1, 1)
    assert enc.input_names() == ["x", "colour=blue", "colour=red", "flag"]
    np.testing.assert_array_equal(X[:, 1:3], [[0, 1], [0, 0], [1, 0], [0, 1]])
    flags = np.array([1.0, 0, 1, 1])
    np.testing.assert_allclose(X[:, 3], (flags - flags.mean()) / flags.std(), rtol=1e-6)
    assert enc.transform(frame_with_missing(), np.float64)[0].dtype == np.float64


def test_unseen_category_is_all_zeros_and_statistics_come_from_training_rows():
    enc = FeatureEncoder.fit(pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]}))
    X, _, _ = enc.transform(pd.DataFrame({"c": ["zzz", "b"], "x": [100.0, 1.0]}))
    np.testing.assert_allclose(X, [[99.0, 0, 0], [0.0, 0, 1]])


def test_encoder_round_trips_through_json_dict():
    enc = FeatureEncoder.fit(frame_with_missing(), dropped=["gone"])
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(again.transform(frame_with_missing())[0],
                                  enc.transform(frame_with_missing())[0])
    assert again.ignored == ["gone"]


def test_constant_column_does_not_divide_by_zero():
    X, _, _ = FeatureEncoder.fit(pd.DataFrame({"k": [3, 3, 3]})).transform(
        pd.DataFrame({"k": [3, 4, 3]}))
    np.testing.assert_allclose(X[:, 0], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("values, expected", [
    ([1e308, -1e308], [1.0, -1.0]),                      # the naive std overflows to inf
    ([1.7e308, 1.7e308, -1.7e308, -1.7e308], [1.0, 1.0, -1.0, -1.0]),
    ([1e-310, 3e-310], [-1.0, 1.0]),                     # subnormal values
    ([0.0, 1e308], [-1.0, 1.0]),
])
def test_statistics_do_not_overflow_and_no_numpy_warning_escapes(values, expected):
    frame = pd.DataFrame({"x": values})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = FeatureEncoder.fit(frame)
        X, _, _ = enc.transform(frame, np.float64)
    spec = enc.columns[0]
    assert np.isfinite([spec["mean"], spec["scale"], spec["median"]]).all()
    np.testing.assert_allclose(X[:, 0], expected, rtol=1e-12)


@pytest.mark.parametrize("train, new, message", [
    ({"x": [1.0, np.inf, 2.0]}, None, "column 'x' has the non-finite value inf in row 2"),
    ({"x": [0.0, 1.0, 2.0]}, {"x": [1.0, -np.inf]},
     "column 'x' has the non-finite value -inf in row 2"),
    ({"x": [0.0, 1e-30, 2e-30]}, {"x": [1e30, 0.0]},
     "column 'x': the value 1e+30 in row 1 is too far from the training values to be "
     "represented in float32 once scaled"),
    ({"x": [1.0, 2.0], "y": [1, 2]}, {"x": ["1", "abc"], "y": [1, 2]},
     "column 'x' must be numeric (it was in training), but has the value 'abc' in row 2"),
    ({"n": [str(v) for v in range(30)] + ["oops"]}, None,
     "column 'n' holds numbers but also the text 'oops' in row 31 (1 such value(s))"),
    ({"x": [np.nan, np.nan]}, None, "column 'x' is entirely empty"),
    ({"z": [1 + 2j, 3j]}, None, "column 'z' holds complex numbers"),
])
def test_bad_values_are_named_by_column_and_row(train, new, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as info:
            FeatureEncoder.fit(pd.DataFrame(train)).transform(pd.DataFrame(new))
    assert message in str(info.value)


def test_a_text_column_with_some_numbers_stays_categorical():
    values = ["1", "2", "unknown", "3", "unknown"]  # 60% numbers: a categorical column
    enc = FeatureEncoder.fit(pd.DataFrame({"c": values}))
    assert enc.columns[0]["kind"] == "categorical"


def id_table(n=60):
    return pd.DataFrame({"x": np.arange(n, dtype=float),
                         "id": [f"user{k}" for k in range(n)],
                         "city": ["a", "b", "c"] * (n // 3)})


def test_a_high_cardinality_column_is_left_out_with_a_warning(caplog):
    enc = FeatureEncoder.fit(id_table())
    assert enc.names == ["x", "city"] and enc.ignored == ["id"]
    assert [r.getMessage() for r in caplog.records] == [
        "left out column 'id': 60 distinct values in 60 rows (an id or free text?); keep it "
        "hashed or capped to its most frequent values with the high-cardinality option"]
    enc.check_columns(id_table())  # an ignored column may be present
    enc.check_columns(id_table().drop(columns=["id"]))  # or not


def test_more_than_max_levels_counts_as_high_cardinality():
    frame = pd.DataFrame({"c": [f"v{k % 30}" for k in range(300)]})  # 30 levels, 10% distinct
    assert FeatureEncoder.fit(frame).width == 30
    with pytest.raises(ValueError, match="no feature column is left"):
        FeatureEncoder.fit(frame, max_levels=20)


def test_high_cardinality_top_keeps_the_most_frequent_plus_other():
    frame = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + [f"u{k}" for k in range(30)]})
    enc = FeatureEncoder.fit(frame, high_cardinality="top", max_levels=3)
    assert enc.input_names() == ["c=a", "c=b", "c=<other>"]
    X, _, _ = enc.transform(pd.DataFrame({"c": ["a", "b", "c", "new", None]}))
    np.testing.assert_array_equal(X, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]])


def test_high_cardinality_hash_one_hot_encodes_crc32_buckets():
    import zlib

    frame = id_table()
    enc = FeatureEncoder.fit(frame, high_cardinality="hash", max_levels=16)
    assert enc.width == 1 + 16 + 3
    X, _, _ = enc.transform(frame)
    buckets = [zlib.crc32(v.encode()) % 16 for v in frame["id"]]
    np.testing.assert_array_equal(X[:, 1:17].argmax(axis=1), buckets)
    assert X[:, 1:17].sum() == len(frame)


def test_memory_is_checked_before_the_matrix_is_allocated(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10)
    enc = FeatureEncoder.fit(frame_with_missing())
    with pytest.raises(ValueError, match=r"the encoded table \(4 rows x 4 columns, float32\) "
                                         r"needs 0.0 GiB, more than the 0.0 GiB"):
        enc.transform(frame_with_missing())


def test_transform_rejects_mismatched_columns():
    enc = FeatureEncoder.fit(pd.DataFrame({"x": [1.0, 2.0], "y": [1, 2]}))
    with pytest.raises(ValueError, match="missing column\\(s\\) 'y'; unexpected column\\(s\\) 'z'"):
        enc.check_columns(pd.DataFrame({"x": [1.0], "z": [2]}))
    enc.check_columns(pd.DataFrame({"y": [1], "x": [1.0], "target": [0]}), ignore=("target",))


# ----------------------------------------------------------------------------- targets
@pytest.mark.parametrize("values, task", [
    (["cat", "dog", "cat"], "binary"),
    (["a", "b", "c"], "multiclass"),
    ([True, False, True], "binary"),
    ([0, 1, 1, 0], "binary"),
    ([1, 2, 3, 3], "multiclass"),
    ([1.0, 2.0, 3.0], "multiclass"),
    ([0.5, 1.5, 2.25], "regression"),
    (list(range(50)), "regression"),
])
def test_task_guessed_from_target(values, task):
    assert guess_task(pd.Series(values)) == task


@pytest.mark.parametrize("task, loss, expected", [
    ("binary", "auto", "bce"), ("multiclass", "auto", "scce"), ("regression", "auto", "mse"),
    ("binary", "hinge", "hinge"), ("multiclass", "cce", "cce"), ("regression", "huber", "huber"),
])
def test_loss_from_task(task, loss, expected):
    assert resolve_loss(task, loss) == expected


def test_loss_that_does_not_fit_the_task():
    with pytest.raises(ValueError, match="loss bce does not fit a regression target"):
        resolve_loss("regression", "bce")


def test_every_loss_name_is_a_fastnn_loss():
    from fastnn import losses
    from fastnn.tasks import LOSS_NAMES

    for short, name in LOSS_NAMES.items():
        assert losses.resolve(short)[0] == losses.resolve(name)[0]


def test_classification_targets_encode_and_decode_labels():
    series = pd.Series(["no", "yes", "no"], name="answer")
    enc = TargetEncoder.fit(series, "binary", "bce")
    np.testing.assert_array_equal(enc.encode(series), [0, 1, 0])
    assert enc.decode(np.array([[0.2], [0.9]])).tolist() == ["no", "yes"]
    assert enc.decode(np.array([[0.2], [0.9]]), threshold=0.95).tolist() == ["no", "no"]
    np.testing.assert_allclose(enc.probabilities(np.array([[0.25]])), [[0.75, 0.25]])
    with pytest.raises(ValueError, match="label 'maybe'"):
        enc.encode(pd.Series(["maybe"]))
    onehot = TargetEncoder.fit(pd.Series(["a", "b", "c"]), "multiclass", "cce")
    np.testing.assert_array_equal(onehot.encode(pd.Series(["c", "a"])), [[0, 0, 1], [1, 0, 0]])


def test_labels_keep_their_type():
    ints = TargetEncoder.fit(pd.Series([3, 7, 3]), "binary", "bce")
    assert ints.labels().dtype.kind == "i" and ints.decode(np.array([[0.9]]))[0] == 7
    flags = TargetEncoder.fit(pd.Series([True, False]), "binary", "bce")
    assert flags.labels().dtype == bool


def test_regression_target_is_standardised_and_mapped_back():
    series = pd.Series([100.0, 300.0, 500.0], name="price")
    enc = TargetEncoder.fit(series, "regression", "mae")
    z = enc.encode(series)
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    np.testing.assert_allclose(enc.decode(z[:, None]), series)


@pytest.mark.parametrize("series, task, message", [
    (pd.Series(["x", "y"], name="t"), "regression", "'t' is not numeric"),
    (pd.Series(["x", "x"], name="t"), "binary", "only one value"),
    (pd.Series(["x", "y", "z"], name="t"), "binary", "3 classes, not 2"),
])
def test_target_rejects(series, task, message):
    with pytest.raises(ValueError, match=message):
        TargetEncoder.fit(series, task, resolve_loss(task, "auto"))


def test_balanced_class_weights_are_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array(["a"] * 6 + ["b"] * 3 + ["c"])
    enc = TargetEncoder.fit(pd.Series(labels), "multiclass", "scce")
    codes = enc.codes(pd.Series(labels))
    np.testing.assert_allclose(enc.class_weights(codes, "balanced"),
                               compute_class_weight("balanced", classes=np.array(["a", "b", "c"]),
                                                    y=labels))
    np.testing.assert_allclose(enc.class_weights(codes, {"c": 5}), [1, 1, 5])
    with pytest.raises(ValueError, match="class_weight names the label 'd'"):
        enc.class_weights(codes, {"d": 2})
