"""Fuzzing the model-file loader: valid files (tests/data/model_files) truncated, with bytes
changed, with any JSON value of the config replaced by any JSON value or deleted, with zip
entries dropped, doubled, renamed or replaced, and with .npy headers declaring other shapes and
dtypes, through fastnn.load_model and ``fastnn info`` / ``fastnn predict``.

Allowed: the file loads (and then predicts), or a ModelFileError naming the file; in the
command, exit 0 or one line and exit 2. Never another exception, a traceback, more than
MEMORY_BOUND of allocations, or a file created or changed. Profiles: tests/fuzz_settings.py.
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import fastnn as fn
from fastnn_cli.app import cli
from fuzz_settings import check_command_outcome, fuzz, memory_bound
from model_file_tools import npy_header, raw_entries, zip_of

FIXTURES = Path(__file__).parent / "data" / "model_files"
PENGUINS = Path(__file__).parent.parent / "examples" / "penguins.csv"
SOURCES = {path.stem: path.read_bytes() for path in sorted(FIXTURES.glob("*.fnn"))}
ENTRY_NAMES = ["config.npy", "params.npy", "state.npy", "opt_state.npy", "iterations.npy"]

JSON_SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.sampled_from([0, 1, -1, 2**31, 2**63, 10**30])
                | st.floats(allow_nan=True, allow_infinity=True)
                | st.sampled_from([1e308, -1e308, 5e-324, 0.5, 1.0])
                | st.text(max_size=8) | st.sampled_from(["", "Dense", "float32", "relu"]))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)


def json_paths(value, path=()):
    """Every path (a tuple of keys and indices) to a value inside ``value``."""
    children = (value.items() if isinstance(value, dict)
                else enumerate(value) if isinstance(value, list) else ())
    for key, child in children:
        yield path + (key,)
        yield from json_paths(child, path + (key,))


def edit_json(config, path, value, delete):
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def replace_entry(items, name, data):
    return [(n, data if n == name else d) for n, d in items]


@st.composite
def mutated_files(draw):
    """(source name, mutated file bytes, what was done)."""
    source = draw(st.sampled_from(sorted(SOURCES)))
    data = SOURCES[source]
    items = raw_entries(data)
    names = [name for name, _ in items]
    kind = draw(st.sampled_from(["truncate", "flip", "json", "json", "json", "drop", "double",
                                 "rename", "replace", "shape", "dtype"]))
    if kind == "truncate":
        return source, data[:draw(st.integers(0, len(data) - 1))], kind
    if kind == "flip":
        flipped = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            flipped[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return source, bytes(flipped), kind
    if kind == "json":
        config_npy = dict(items)["config.npy"]
        config = json.loads(np.load(io.BytesIO(config_npy)).tobytes())
        path = draw(st.sampled_from(list(json_paths(config))))
        delete = draw(st.booleans())
        edit_json(config, path, draw(JSON_VALUES), delete)
        text = json.dumps(config).encode()
        new = npy_header((len(text),), "|u1") + text
        return source, zip_of(replace_entry(items, "config.npy", new)), f"json {path}"
    name = draw(st.sampled_from(names))
    if kind == "drop":
        return source, zip_of([item for item in items if item[0] != name]), kind
    if kind == "double":
        return source, zip_of(items + [(name, dict(items)[name])]), kind
    if kind == "rename":
        new_name = draw(st.sampled_from(ENTRY_NAMES + ["x.npy", "config", "../params.npy"]))
        return source, zip_of([(new_name if n == name else n, d) for n, d in items]), kind
    if kind == "replace":
        return source, zip_of(replace_entry(items, name, draw(st.binary(max_size=300)))), kind
    body = dict(items)[name]
    header_length = len(npy_header((1,)))  # the fixtures' headers are all this long
    if kind == "shape":
        shape = tuple(draw(st.lists(st.sampled_from([0, 1, 3, 10**5, 10**11, 2**62]),
                                    min_size=0, max_size=3)))
        new = npy_header(shape, "<f4") + body[header_length:]
    else:
        descr = draw(st.sampled_from(["<f2", "<c8", "<c16", ">f4", "<i8", "|u1", "|b1", "<U3",
                                      "|O", "<f8", "<M8[s]"]))
        try:
            new = npy_header((len(body) - header_length,), descr) + body[header_length:]
        except (TypeError, ValueError):
            new = body
    return source, zip_of(replace_entry(items, name, new)), kind


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_model_files")


@fuzz(ci_examples=150, long_examples=6000)
@given(mutated_files())
def test_a_mutated_model_file_loads_or_is_a_model_file_error(folder, mutated):
    source, data, what = mutated
    path = folder / "model.fnn"
    path.write_bytes(data)
    with memory_bound():
        try:
            model = fn.load_model(path)
        except fn.ModelFileError as exc:
            model = None
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        if model is not None:
            try:
                model.predict(np.zeros((2, model.input_dim)))
            except ValueError:
                pass
        runner = CliRunner()
        check_command_outcome(runner.invoke(cli, ["info", str(path)]))
        if source.startswith("cli_"):
            check_command_outcome(runner.invoke(cli, ["predict", str(path), str(PENGUINS),
                                                      "--quiet"]))
    assert [p.name for p in folder.iterdir()] == ["model.fnn"]
    assert path.read_bytes() == data


def test_the_sources_were_not_changed():
    assert {path.stem: path.read_bytes() for path in FIXTURES.glob("*.fnn")} == SOURCES
