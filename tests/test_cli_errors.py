"""Every bad input gives one line on stderr, exit code 2, no traceback, and leaves the output
file (and the folder) as they were."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastnn_cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SENTINEL = b"the user's own file"

# Files each case can use, created in a fresh folder: name -> bytes.
FILES = {
    "empty.csv": b"",
    "header.csv": b"a,b,label\n",
    "ragged.csv": b"a,b,label\n1,2,x\n3,4\n5,6,y\n",
    "binary.csv": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
    "empty_column.csv": b"a,b,label\n1,,x\n2,,y\n3,,x\n",
    "text_target.csv": b"a,label\n1,x\n2,y\n3,z\n",
    "other_columns.csv": b"a,zzz,label\n1,2,x\n",
    "corrupt.fnn": b"PK\x03\x04 this is not a zip archive at all",
}

# (case id, command line with {dir} for the folder, part of the message). Train cases write to
# {dir}/out.fnn and predict cases to {dir}/preds.csv, which hold SENTINEL before the call.
CASES = [
    ("missing file", "train {dir}/nope.csv --out {dir}/out.fnn", "nope.csv: no such file"),
    ("empty file", "train {dir}/empty.csv --out {dir}/out.fnn", "the file is empty"),
    ("header only", "train {dir}/header.csv --out {dir}/out.fnn", "header but no data rows"),
    ("ragged rows", "train {dir}/ragged.csv --out {dir}/out.fnn",
     "malformed CSV (Expected 3 columns, got 2"),
    ("binary file", "train {dir}/binary.csv --out {dir}/out.fnn", "not a CSV file"),
    ("unknown target", "train {dir}/iris.csv --target nope --out {dir}/out.fnn",
     "--target 'nope' is not a column"),
    ("regression target not numeric",
     "train {dir}/text_target.csv --task regression --out {dir}/out.fnn",
     "the target 'label' is not numeric"),
    ("entirely empty column", "train {dir}/empty_column.csv --out {dir}/out.fnn",
     "column 'b' is entirely empty"),
    ("negative lr", "train {dir}/iris.csv --lr -0.1 --out {dir}/out.fnn",
     "Invalid value for '--lr'"),
    ("zero epochs", "train {dir}/iris.csv --epochs 0 --out {dir}/out.fnn",
     "Invalid value for '--epochs': 0 is not in the range x>=1"),
    ("bad layers", "train {dir}/iris.csv --layers 64,-1 --out {dir}/out.fnn",
     "layer widths must be positive"),
    ("bad batch size", "train {dir}/iris.csv --batch-size big --out {dir}/out.fnn",
     "neither a positive integer nor 'sqrt'"),
    ("validation split of 1", "train {dir}/iris.csv --val-split 1 --out {dir}/out.fnn",
     "Invalid value for '--val-split'"),
    ("unknown optimizer", "train {dir}/iris.csv --opt sgdx --out {dir}/out.fnn",
     "Invalid value for '--opt'"),
    ("unknown schedule", "train {dir}/iris.csv --schedule nope --out {dir}/out.fnn",
     "Invalid value for '--schedule'"),
    ("schedule too short for the run (fastnn's own check)",
     "train {dir}/iris.csv --schedule one_cycle --epochs 1 --batch-size 150 --out {dir}/out.fnn",
     "total_steps"),
    ("dropout of 1", "train {dir}/iris.csv --dropout 1 --out {dir}/out.fnn",
     "Invalid value for '--dropout': 1.0 is not in the range 0<=x<1"),
    ("negative l2", "train {dir}/iris.csv --l2 -0.1 --out {dir}/out.fnn",
     "Invalid value for '--l2'"),
    ("zero clipnorm", "train {dir}/iris.csv --clipnorm 0 --out {dir}/out.fnn",
     "Invalid value for '--clipnorm'"),
    ("negative patience", "train {dir}/iris.csv --early-stopping -1 --out {dir}/out.fnn",
     "Invalid value for '--early-stopping'"),
    ("loss that does not fit", "train {dir}/iris.csv --loss mse --out {dir}/out.fnn",
     "--loss mse does not fit a multiclass target"),
    ("output over the input", "train {dir}/iris.csv --out {dir}/iris.csv",
     "is an input file; refusing to overwrite it"),
    ("output folder missing", "train {dir}/iris.csv --out {dir}/no/out.fnn",
     "does not exist"),
    ("unknown command", "frobnicate", "No such command 'frobnicate'"),
    ("missing argument", "predict {dir}/model.fnn", "Missing argument 'DATA'"),
    ("corrupt model", "predict {dir}/corrupt.fnn {dir}/iris.csv --out {dir}/preds.csv",
     "corrupt.fnn: not a readable fastnn model file"),
    ("truncated model", "predict {dir}/truncated.fnn {dir}/iris.csv --out {dir}/preds.csv",
     "truncated.fnn: not a readable fastnn model file"),
    ("missing model", "predict {dir}/none.fnn {dir}/iris.csv --out {dir}/preds.csv",
     "none.fnn: no such model file"),
    ("predict columns do not match",
     "predict {dir}/model.fnn {dir}/other_columns.csv --out {dir}/preds.csv",
     "the columns do not match the model's: missing column(s) 'sepal length (cm)'"),
    ("evaluate columns do not match", "evaluate {dir}/model.fnn {dir}/text_target.csv",
     "no target column 'species'"),
    ("predict data is binary", "predict {dir}/model.fnn {dir}/binary.csv --out {dir}/preds.csv",
     "not a CSV file"),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small iris model and a truncated copy of it."""
    folder = tmp_path_factory.mktemp("model")
    shutil.copy(EXAMPLES / "iris.csv", folder / "iris.csv")
    result = CliRunner().invoke(cli, ["train", str(folder / "iris.csv"), "--epochs", "2",
                                      "--out", str(folder / "model.fnn"), "--quiet"])
    assert result.exit_code == 0, result.output
    model = (folder / "model.fnn").read_bytes()
    (folder / "truncated.fnn").write_bytes(model[: len(model) // 2])
    return folder


@pytest.mark.parametrize("command, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, trained, command, message):
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    for name in ("iris.csv", "model.fnn", "truncated.fnn"):
        shutil.copy(trained / name, tmp_path / name)
    for name in ("out.fnn", "preds.csv"):
        (tmp_path / name).write_bytes(SENTINEL)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    result = CliRunner().invoke(cli, command.format(dir=tmp_path).split())

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
