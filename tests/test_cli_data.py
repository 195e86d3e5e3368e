"""The CLI's CSV reading, feature preprocessing and target encoding (no training here)."""

import numpy as np
import pandas as pd
import pytest

from fastnn_cli.errors import InputError
from fastnn_cli.features import FeatureEncoder
from fastnn_cli.files import check_outputs, read_table, write_atomically
from fastnn_cli.target import TargetEncoder, infer_task, resolve_loss


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_reads_quoted_fields_crlf_and_spaces_in_names(tmp_path):
    path = write(tmp_path, "t.csv", 'a b ,"c"\r\n1,"x, ""y"""\r\n2,z\r\n')
    frame = read_table(path)
    assert list(frame.columns) == ["a b", "c"]
    assert frame["c"].tolist() == ['x, "y"', "z"]
    assert frame["a b"].tolist() == [1, 2]


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("a,b,c\n", "header but no data rows"),
    ("a,b,c\n1,2,3\n4,5\n", "malformed CSV (Expected 3 columns, got 2"),
    ("a,b\n1,2\n3,4,5\n", "malformed CSV (Expected 2 columns, got 3"),
    (b"\x7fELF\x02\x01\x00\x00binary", "binary data"),
    (b"a,b\n\xff\xfe,1\n", "not UTF-8 text"),
])
def test_unreadable_tables_are_named(tmp_path, content, message):
    with pytest.raises(InputError, match=None) as info:
        read_table(write(tmp_path, "bad.csv", content))
    assert message in info.value.message
    assert "\n" not in info.value.message


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_table(str(tmp_path / "nope.csv"))


def frame_with_missing():
    return pd.DataFrame({"x": [1.0, 2.0, np.nan, 5.0], "colour": ["red", None, "blue", "red"],
                         "flag": [True, False, True, True]})


def test_numeric_columns_are_imputed_with_the_median_then_standardised():
    enc = FeatureEncoder.fit(frame_with_missing())
    X, imputed, missing_categories = enc.transform(frame_with_missing())
    filled = np.array([1.0, 2.0, 2.0, 5.0])  # the median of 1, 2, 5 is 2
    np.testing.assert_allclose(X[:, 0], (filled - filled.mean()) / filled.std())
    assert (imputed, missing_categories) == (1, 1)
    assert enc.input_names == ["x", "colour=blue", "colour=red", "flag"]
    np.testing.assert_allclose(X[:, 1:3], [[0, 1], [0, 0], [1, 0], [0, 1]])
    flags = np.array([1.0, 0, 1, 1])
    np.testing.assert_allclose(X[:, 3], (flags - flags.mean()) / flags.std())


def test_unseen_category_is_all_zeros_and_statistics_come_from_training_rows():
    enc = FeatureEncoder.fit(pd.DataFrame({"x": [0.0, 2.0], "c": ["a", "b"]}))
    X, _, _ = enc.transform(pd.DataFrame({"c": ["zzz", "b"], "x": [100.0, 1.0]}))
    np.testing.assert_allclose(X, [[99.0, 0, 0], [0.0, 0, 1]])


def test_encoder_round_trips_through_json_dict():
    import json

    enc = FeatureEncoder.fit(frame_with_missing())
    again = FeatureEncoder.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(again.transform(frame_with_missing())[0],
                                  enc.transform(frame_with_missing())[0])


def test_constant_column_does_not_divide_by_zero():
    X, _, _ = FeatureEncoder.fit(pd.DataFrame({"k": [3, 3, 3]})).transform(
        pd.DataFrame({"k": [3, 4, 3]}))
    np.testing.assert_allclose(X[:, 0], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"x": [np.nan, np.nan]}), "column 'x' is entirely empty"),
])
def test_fit_rejects(frame, message):
    with pytest.raises(InputError, match=message):
        FeatureEncoder.fit(frame)


def test_transform_rejects_text_in_a_numeric_column_and_mismatched_columns():
    enc = FeatureEncoder.fit(pd.DataFrame({"x": [1.0, 2.0], "y": [1, 2]}))
    with pytest.raises(InputError, match="column 'x' must be numeric"):
        enc.transform(pd.DataFrame({"x": ["1", "abc"], "y": [1, 2]}))
    with pytest.raises(InputError, match="missing column\\(s\\) 'y'; unexpected column\\(s\\) 'z'"):
        enc.check_columns(pd.DataFrame({"x": [1.0], "z": [2]}))
    enc.check_columns(pd.DataFrame({"y": [1], "x": [1.0], "target": [0]}), ignore=("target",))


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
def test_task_inferred_from_target(values, task):
    assert infer_task(pd.Series(values)) == task


@pytest.mark.parametrize("task, loss, expected", [
    ("binary", "auto", "bce"), ("multiclass", "auto", "scce"), ("regression", "auto", "mse"),
    ("binary", "hinge", "hinge"), ("multiclass", "cce", "cce"), ("regression", "huber", "huber"),
])
def test_loss_from_task(task, loss, expected):
    assert resolve_loss(task, loss) == expected


def test_loss_that_does_not_fit_the_task():
    with pytest.raises(InputError, match="--loss bce does not fit a regression target"):
        resolve_loss("regression", "bce")


def test_every_cli_loss_name_is_a_fastnn_loss():
    from fastnn import losses

    from fastnn_cli.target import LOSSES

    for name in LOSSES:
        losses.resolve(name)


def test_classification_targets_encode_and_decode_labels():
    series = pd.Series(["no", "yes", "no"], name="answer")
    enc = TargetEncoder.fit(series, "binary", "bce")
    np.testing.assert_array_equal(enc.encode(series), [0, 1, 0])
    assert enc.decode(np.array([[0.2], [0.9]])).tolist() == ["no", "yes"]
    np.testing.assert_allclose(enc.probabilities(np.array([[0.25]])), [[0.75, 0.25]])
    with pytest.raises(InputError, match="label 'maybe'"):
        enc.encode(pd.Series(["maybe"]))
    onehot = TargetEncoder.fit(pd.Series(["a", "b", "c"]), "multiclass", "cce")
    np.testing.assert_array_equal(onehot.encode(pd.Series(["c", "a"])), [[0, 0, 1], [1, 0, 0]])


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
    with pytest.raises(InputError, match=message):
        TargetEncoder.fit(series, task, resolve_loss(task, "auto"))


def test_output_checks(tmp_path):
    data = write(tmp_path, "d.csv", "a\n1\n")
    check_outputs({"--out": str(tmp_path / "m.fnn"), "--history": None}, [data])
    cases = [({"--out": data}, "is an input file"),
             ({"--out": str(tmp_path)}, "is a folder"),
             ({"--out": str(tmp_path / "no" / "m.fnn")}, "does not exist"),
             ({"--out": str(tmp_path / "x"), "--plot": str(tmp_path / "x")}, "the same file")]
    for outputs, message in cases:
        with pytest.raises(InputError, match=message):
            check_outputs(outputs, [data])


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")

    def fail(f):
        f.write("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(str(path), fail)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
