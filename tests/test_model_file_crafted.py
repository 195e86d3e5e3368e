"""Crafted model files: every wrong key, type, range, size and value is a ModelFileError naming
the file and the entry, before anything is allocated; in the command, one line and exit 2."""

import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fastnn as fn
from fastnn import model_file
from fastnn_cli.app import cli
from model_file_tools import npy_header, raw_entries, rewrite, zip_of

FIXTURES = Path(__file__).parent / "data" / "model_files"
CLI_MODEL = FIXTURES / "cli_penguins_multiclass.fnn"  # numeric and categorical columns
TRAINED = FIXTURES / "every_layer.fnn"  # every layer class, Adam state, user metadata
PENGUINS = Path(__file__).parent.parent / "examples" / "penguins.csv"


def cli_meta(c):
    return c["metadata"]["fastnn_cli"]


def _set(key, value):
    return lambda c: c.update({key: value})


# (id, source file, config change, arrays change, entry named, words of the message)
CASES = [
    # the classes of crafted configs that raised KeyError/TypeError/AttributeError/IndexError
    ("feature column without its kind", CLI_MODEL,
     lambda c: cli_meta(c)["features"]["columns"][0].pop("kind"), None,
     "config.metadata.fastnn_cli.features.columns[0]", "'kind' is a required property"),
    ("classes null", CLI_MODEL, lambda c: cli_meta(c)["target"].update(classes=None), None,
     "config.metadata.fastnn_cli.target.classes", "None is not of type 'array'"),
    ("settings a list", CLI_MODEL, lambda c: cli_meta(c).update(settings=[1, 2]), None,
     "config.metadata.fastnn_cli.settings", "is not of type 'object'"),
    ("metadata a list", CLI_MODEL, _set("metadata", ["a"]), None, "config.metadata",
     "is not of type 'object'"),
    ("optimizer state not a dict", TRAINED,
     lambda c: c["compile"].update(optimizer=["adam"]), None, "config.compile.optimizer",
     "is not of type 'object'"),
    ("iterations entry deleted", TRAINED, None, lambda a: a.pop("iterations"), "opt_state",
     "one of them is missing"),
    ("opt_state entry deleted", TRAINED, None, lambda a: a.pop("opt_state"), "opt_state",
     "one of them is missing"),
    ("params entry deleted", TRAINED, None, lambda a: a.pop("params"), None,
     "the params entry is missing"),
    ("a string format_version", TRAINED, _set("format_version", "1"),
     None, "config.format_version", "'1' is not of type 'integer'"),
    ("a newer format_version", TRAINED, _set("format_version", 7), None, None,
     "newer fastnn (format version 7"),
    ("params of the right size but the wrong shape", TRAINED, None,
     lambda a: a.update(params=a["params"].reshape(-1, 1)), "params",
     "has shape (159, 1), the architecture needs (159,)"),
    ("units a string", TRAINED, lambda c: c["layers"][0].update(units="6"), None,
     "config.layers[0].units", "is not of type 'integer'"),
    ("units 6.0", TRAINED, lambda c: c["layers"][0].update(units=6.0), None,
     "config.layers[0].units", "is not of type 'integer'"),
    ("layers a dict", TRAINED, _set("layers", {"0": {}}), None, "config.layers",
     "is not of type 'array'"),
    ("no layers", TRAINED, _set("layers", []), None, "config.layers", "should be non-empty"),
    ("an unknown layer class", TRAINED, lambda c: c["layers"][0].update({"class": "Conv2D"}),
     None, "config.layers[0].class", "'Conv2D' is not one of"),
    ("a layer setting it does not take", TRAINED, lambda c: c["layers"][0].update(filters=3),
     None, "config.layers[0]", "'filters' was unexpected"),
    ("a Dropout rate out of range", TRAINED, lambda c: c["layers"][3].update(rate=1.5), None,
     "config.layers[3]", "Dropout rate must be a number in [0.0, 1.0)"),
    ("an initializer of an unknown name", TRAINED,
     lambda c: c["layers"][0].update(kernel_initializer={"name": "magic"}), None,
     "config.layers[0].kernel_initializer.name", "'magic' is not one of"),
    ("a regularizer coefficient a string", TRAINED,
     lambda c: c["layers"][0]["kernel_regularizer"].update(l1="0.1"), None,
     "config.layers[0].kernel_regularizer.l1", "is not of type 'number'"),
    ("input_dim 0", TRAINED, _set("input_dim", 0), None, "config.input_dim",
     "less than the minimum of 1"),
    ("dtype float16", TRAINED, _set("dtype", "float16"), None, "config.dtype",
     "'float16' is not one of"),
    ("seed negative", TRAINED, _set("seed", -1), None, "config.seed", "minimum of 0"),
    ("shuffle_state of another generator", TRAINED,
     lambda c: c["shuffle_state"].update(bit_generator="MT19937"), None,
     "config.shuffle_state.bit_generator", "'PCG64' was expected"),
    ("shuffle_state a string", TRAINED, _set("shuffle_state", "x"), None,
     "config.shuffle_state", "is not of type 'object'"),
    ("an unknown loss", TRAINED, lambda c: c["compile"].update(loss="focal"), None,
     "config.compile.loss", "'focal' is not one of"),
    ("a learning rate below zero", TRAINED,
     lambda c: c["compile"]["optimizer"].update(learning_rate=-1.0), None,
     "config.compile.optimizer", "must be"),
    ("an unknown optimizer setting", TRAINED,
     lambda c: c["compile"]["optimizer"].update(warp=2), None, "config.compile.optimizer",
     "unexpected keyword argument 'warp'"),
    ("an unknown top-level key", TRAINED, _set("extra", 1), None, "config",
     "'extra' was unexpected"),
    ("a 10000x10000 layer in a small file", TRAINED,
     lambda c: (c.update(input_dim=10000), c["layers"][0].update(units=10000)), None,
     "config.layers", "the architecture needs 1.9 GiB of buffers"),
    ("a 3000x3000 layer in a small file", TRAINED,
     lambda c: (c.update(input_dim=3000), c["layers"][0].update(units=3000)), None,
     "params", "has shape (159,), the architecture needs (9057021,)"),
    ("an architecture of 200000 units", TRAINED,
     lambda c: (c.update(input_dim=200000), c["layers"][0].update(units=200000)), None,
     "config.layers", "more than the limit of 1.0 GiB"),
    # the command's metadata: cross-field sizes
    ("a binary target with three classes", CLI_MODEL,
     lambda c: cli_meta(c)["target"].update(task="binary", loss="bce"), None,
     "config.metadata.fastnn_cli.target.classes", "is too long"),
    ("classes fewer than the outputs", CLI_MODEL,
     lambda c: cli_meta(c)["target"]["classes"].pop(), None,
     "config.metadata.fastnn_cli.target", "needs 2 output(s), the network has 3"),
    ("a category fewer than the inputs", CLI_MODEL,
     lambda c: cli_meta(c)["features"]["columns"][0]["categories"].pop(), None,
     "config.metadata.fastnn_cli.features.columns", "the network takes"),
    ("a column listed twice", CLI_MODEL,
     lambda c: cli_meta(c)["features"]["columns"][1].update(
         name=cli_meta(c)["features"]["columns"][0]["name"]), None,
     "config.metadata.fastnn_cli.features", "is listed twice"),
    ("a scale of zero", CLI_MODEL,
     lambda c: cli_meta(c)["features"]["columns"][2].update(scale=0), None,
     "config.metadata.fastnn_cli.features.columns[2].scale", "less than or equal to"),
    ("a median that is a string", CLI_MODEL,
     lambda c: cli_meta(c)["features"]["columns"][2].update(median="1"), None,
     "config.metadata.fastnn_cli.features.columns[2].median", "is not of type 'number'"),
    ("a loss that does not fit the task", CLI_MODEL,
     lambda c: cli_meta(c)["target"].update(loss="mse"), None,
     "config.metadata.fastnn_cli.target.loss", "'mse' is not one of"),
    ("a newer command metadata version", CLI_MODEL,
     lambda c: cli_meta(c).update(format_version=5), None, "config.metadata.fastnn_cli",
     "newer fastnn (format version 5"),
    ("a command metadata version that is a list", CLI_MODEL,
     lambda c: cli_meta(c).update(format_version=[]), None,
     "config.metadata.fastnn_cli.format_version", "[] is not an integer"),
    ("a command metadata version 0", CLI_MODEL,
     lambda c: cli_meta(c).update(format_version=0), None,
     "config.metadata.fastnn_cli.format_version", "0 is not a format version"),
    ("command metadata a string", CLI_MODEL,
     lambda c: c["metadata"].update(fastnn_cli="x"), None, "config.metadata.fastnn_cli",
     "is not of type 'object' (str)"),
    # values
    ("NaN params", TRAINED, None, lambda a: a["params"].__setitem__(3, np.nan), "params",
     "non-finite value (nan) at index 3"),
    ("inf in the optimizer state", TRAINED, None,
     lambda a: a["opt_state"].__setitem__((1, 4), np.inf), "opt_state", "non-finite value"),
    ("complex params", TRAINED, None,
     lambda a: a.update(params=a["params"].astype(np.complex64)), "params",
     "has dtype complex64, expected float32"),
    ("float16 params", TRAINED, None,
     lambda a: a.update(params=a["params"].astype(np.float16)), "params",
     "has dtype float16"),
    ("integer params", TRAINED, None,
     lambda a: a.update(params=a["params"].astype(np.int32)), "params", "has dtype int32"),
    ("negative iterations", TRAINED, None, lambda a: a["iterations"].__setitem__(0, -4),
     "iterations", "must be >= 0"),
    ("optimizer state rows that do not fit the optimizer", TRAINED, None,
     lambda a: a.update(opt_state=a["opt_state"][:2]), "opt_state", "the architecture needs"),
    ("a config entry of floats", TRAINED, None,
     lambda a: a.update(config=a["config"].astype(np.float32)), "config", "not UTF-8 text"),
]


def _writable(arrays):
    for name, value in arrays.items():
        arrays[name] = np.array(value)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("crafted")


def crafted(folder, case):
    name, source, change_config, change_arrays = case[:4]
    path = folder / (name.replace(" ", "_") + ".fnn")

    def arrays_change(arrays):
        _writable(arrays)
        if change_arrays is not None:
            change_arrays(arrays)

    rewrite(source, path, change_config, arrays_change)
    return path


def refused_load(path):
    """(the ModelFileError that loading ``path`` raises, the peak bytes traced while loading)."""
    tracemalloc.start()
    try:
        with pytest.raises(fn.ModelFileError) as caught:
            fn.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, peak


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_crafted_file_is_a_model_file_error_naming_the_entry(folder, case):
    path = crafted(folder, case)
    entry, words = case[4], case[5]
    error, peak = refused_load(path)
    assert error.entry == entry and words in error.problem, str(error)
    assert str(error).startswith(f"{path}: ")
    assert "newer" not in str(error) or "newer" in words
    assert peak < 32 * 2**20  # nothing the size of the declared network was allocated


@pytest.mark.parametrize("command", ["info", "predict"])
@pytest.mark.parametrize("case", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_the_command_says_it_in_one_line_with_exit_2(folder, case, command):
    path = crafted(folder, case)
    args = [command, str(path)] + ([str(PENGUINS)] if command == "predict" else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: ") and not result.stdout


def test_valid_user_metadata_of_any_shape_is_kept(tmp_path):
    metadata = {"nested": {"list": [1, [2, {"x": None}]], "flag": False}, "fastnn_cli2": "x"}
    rewrite(TRAINED, tmp_path / "m.fnn", lambda c: c.update(metadata=metadata))
    assert fn.load_model(tmp_path / "m.fnn").metadata == metadata


# ---------------------------------------------------------------------------- the archive
def _archive_cases():
    good = TRAINED.read_bytes()
    items = raw_entries(good)
    params_at = [name for name, _ in items].index("params.npy")
    huge_header = npy_header((10**11,)) + b"\0" * 64
    yield ("an .npy header that declares 10^11 elements",
           zip_of([(n, huge_header if n == "params.npy" else d) for n, d in items]),
           "params", "has shape (100000000000,)")
    yield ("an unexpected entry", zip_of(items + [("payload.npy", b"x")]), None,
           "unexpected entry 'payload.npy'")
    yield ("an entry twice", zip_of(items + [items[params_at]]), "params",
           "in the archive twice")
    config = npy_header((70 * 2**20,), "|u1") + b" " * (70 * 2**20)
    yield ("a small entry that inflates to 70 MiB",
           zip_of([(n, config if n == "config.npy" else d) for n, d in items],
                  zipfile.ZIP_DEFLATED), "config", "more than the 64.0 MiB")
    yield ("a config nested too deeply",
           zip_of([(n, npy_header((200000,), "|u1") + b"[" * 200000
                    if n == "config.npy" else d) for n, d in items]), "config",
           "nested too deeply")
    yield ("a truncated archive", good[: len(good) // 2], None, "not a readable")
    cut = bytearray(good)
    start = good.index(b"params.npy") + 200
    cut[start:start + 8] = b"\x00\x01\x02\x03\x04\x05\x06\x07"
    yield ("changed bytes in the params", bytes(cut), "params", "corrupt")


ARCHIVES = list(_archive_cases())


@pytest.mark.parametrize("name, data, entry, words", ARCHIVES, ids=[a[0] for a in ARCHIVES])
def test_a_crafted_archive_is_refused_before_it_is_read(tmp_path, name, data, entry, words):
    path = tmp_path / "m.fnn"
    path.write_bytes(data)
    error, peak = refused_load(path)
    assert error.entry == entry and words in error.problem, str(error)
    assert peak < 32 * 2**20


# ---------------------------------------------------------------------------- the size limit
def test_the_size_limit_has_an_override(tmp_path, monkeypatch):
    model = fn.Sequential([fn.Dense(300)], input_dim=300)
    model.save(tmp_path / "m.fnn")
    limit = 300 * 301 * 4 * 2  # params and gradients of float32
    with pytest.raises(fn.ModelFileError, match="more than the limit"):
        fn.load_model(tmp_path / "m.fnn", max_bytes=limit - 1)
    assert fn.load_model(tmp_path / "m.fnn", max_bytes=limit).count_params() == 300 * 301
    monkeypatch.setenv("FASTNN_MAX_MODEL_BYTES", str(limit - 1))
    with pytest.raises(fn.ModelFileError, match="FASTNN_MAX_MODEL_BYTES"):
        fn.load_model(tmp_path / "m.fnn")
    with monkeypatch.context() as patch:  # a file larger than any model within the limit
        patch.setattr(model_file, "MAX_CONFIG_BYTES", 0)
        patch.setattr(model_file, "ARCHIVE_OVERHEAD", 0)
        with pytest.raises(fn.ModelFileError, match="more than a model within the limit"):
            fn.load_model(tmp_path / "m.fnn", max_bytes=1000)
    monkeypatch.setenv("FASTNN_MAX_MODEL_BYTES", "lots")
    with pytest.raises(ValueError, match="FASTNN_MAX_MODEL_BYTES must be a positive integer"):
        fn.load_model(tmp_path / "m.fnn")


def test_non_finite_weights_are_not_saved(tmp_path):
    model = fn.Sequential([fn.Dense(2)], input_dim=2)
    model.params[0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.save(tmp_path / "m.fnn")
    assert os.listdir(tmp_path) == []


def test_the_entry_is_named_in_json_output_too(folder):
    path = crafted(folder, CASES[1])
    result = CliRunner().invoke(cli, ["info", str(path), "--json"])
    assert result.exit_code == 2 and "target.classes" in result.stderr
    assert not result.stdout  # nothing half-printed on stdout


def test_the_installed_command_says_it_in_one_line_with_exit_2(folder):
    path = crafted(folder, CASES[0])
    result = subprocess.run([sys.executable, "-m", "fastnn_cli", "info", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.splitlines() == [
        f"Error: {path}: config.metadata.fastnn_cli.features.columns[0]: 'kind' is a required "
        f"property"]


def test_command_metadata_version_2_is_checked_too(tmp_path):
    def version_2(c, other):
        meta = cli_meta(c)
        meta.update(format_version=2)
        meta["features"]["ignored"] = ["comment"]
        meta["features"]["columns"][0]["other"] = other
    rewrite(CLI_MODEL, tmp_path / "v2.fnn", lambda c: version_2(c, False))
    assert fn.load_model(tmp_path / "v2.fnn").metadata["fastnn_cli"]["format_version"] == 2
    rewrite(CLI_MODEL, tmp_path / "other.fnn", lambda c: version_2(c, True))
    with pytest.raises(fn.ModelFileError, match="the network takes"):
        fn.load_model(tmp_path / "other.fnn")  # the "other" level is one input more
