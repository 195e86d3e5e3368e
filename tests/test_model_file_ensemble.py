"""Ensemble model files (fastnn.Ensemble): the round trip, and crafted files whose every
member is checked as a single network is, each a ModelFileError naming the entry."""

import json

import numpy as np
import pytest

import fastnn as fn
from fastnn import model_file
from model_file_tools import entries, write_entries


def member(width, seed, input_dim=3):
    model = fn.Sequential([fn.Dense(width, activation="relu"), fn.Dense(2, activation="softmax")],
                          input_dim=input_dim, seed=seed)
    return model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                         metrics=["accuracy"])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """An ensemble of three networks of different widths, saved with user metadata."""
    path = tmp_path_factory.mktemp("ensemble") / "ensemble.fnn"
    ensemble = fn.Ensemble([member(4, 0), member(6, 1), member(5, 2)], metadata={"note": "x"})
    ensemble.save(path)
    return ensemble, path


def test_an_ensemble_round_trips_and_predicts_the_mean(saved):
    ensemble, path = saved
    X = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    expected = np.mean([m.predict(X) for m in ensemble.members], axis=0)
    np.testing.assert_allclose(ensemble.predict(X), expected, rtol=1e-6)
    loaded = fn.load_model(path)
    assert isinstance(loaded, fn.Ensemble) and len(loaded.members) == 3
    assert loaded.metadata["note"] == "x" and loaded.count_params() == ensemble.count_params()
    np.testing.assert_array_equal(loaded.predict(X), ensemble.predict(X))
    y = np.array([0, 1, 1, 0, 1, 0, 0])
    out = ensemble.predict(X).astype(np.float64)
    assert loaded.evaluate(X, y)["loss"] == pytest.approx(
        -np.mean(np.log(out[np.arange(7), y])), rel=1e-5)
    # a single network's file still loads as a Sequential
    ensemble.members[0].save(path.parent / "single.fnn")
    assert isinstance(fn.load_model(path.parent / "single.fnn"), fn.Sequential)


def _config(arrays, name):
    return json.loads(arrays[name].tobytes())


def _set_config(arrays, name, change):
    config = _config(arrays, name)
    change(config)
    arrays[name] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)


def _ensemble_meta(change):
    return lambda a: _set_config(a, "config",
                                 lambda c: change(c["metadata"]["fastnn_ensemble"]))


# (id, change of the entries, entry named, words of the message)
CASES = [
    ("a member's params deleted", lambda a: a.pop("member1_params"),
     "config.metadata.fastnn_ensemble", "member1_params is missing"),
    ("a member the metadata does not declare",
     _ensemble_meta(lambda e: e.update(members=2)), "member2_config", "does not declare"),
    ("members entries with no ensemble declared",
     lambda a: _set_config(a, "config", lambda c: c["metadata"].pop("fastnn_ensemble")),
     "member1_config", "does not declare"),
    ("one member declared", _ensemble_meta(lambda e: e.update(members=1)),
     "config.metadata.fastnn_ensemble.members", "less than the minimum"),
    ("an unknown way to combine", _ensemble_meta(lambda e: e.update(combine="max")),
     "config.metadata.fastnn_ensemble.combine", "'mean' was expected"),
    ("a member of another input width",
     lambda a: _set_config(a, "member1_config", lambda c: c.update(input_dim=4)),
     "member1_config", "input_dim"),
    ("a member of another dtype",
     lambda a: _set_config(a, "member2_config", lambda c: c.update(dtype="float64")),
     "member2_config", "dtype"),
    ("a member with another loss",
     lambda a: _set_config(a, "member1_config", lambda c: c["compile"].update(loss="cce")),
     "member1_config", "loss"),
    ("a member with metadata of its own",
     lambda a: _set_config(a, "member1_config", lambda c: c.update(metadata={"a": 1})),
     "member1_config.metadata", "no metadata of its own"),
    ("a member's layer out of range",
     lambda a: _set_config(a, "member2_config",
                           lambda c: c["layers"][0].update(units=0)),
     "member2_config.layers[0].units", "less than the minimum"),
    ("a member's params not finite",
     lambda a: a.update(member2_params=np.where(np.arange(a["member2_params"].size) == 3,
                                                np.nan, a["member2_params"]).astype(np.float32)),
     "member2_params", "non-finite value"),
    ("a member's params too short",
     lambda a: a.update(member1_params=a["member1_params"][:-1]),
     "member1_params", "has shape"),
    ("a member's config not JSON",
     lambda a: a.update(member1_config=np.frombuffer(b"{oops", dtype=np.uint8)),
     "member1_config", "not valid JSON"),
]


@pytest.mark.parametrize("change, entry, words", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_crafted_ensemble_files_name_the_entry(saved, tmp_path, change, entry, words):
    arrays = entries(saved[1])
    change(arrays)
    path = tmp_path / "crafted.fnn"
    write_entries(path, arrays)
    with pytest.raises(model_file.ModelFileError) as error:
        fn.load_model(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and words in message, message
    assert f": {entry}: " in message, message


def test_the_size_limit_counts_every_member(saved):
    _, path = saved
    sizes = [m.count_params() for m in saved[0].members]
    # (params, grads and two Adam slots) x 4 bytes per member: enough for any one, not all
    limit = 4 * 4 * (sum(sizes) - 1)
    with pytest.raises(model_file.ModelFileError, match="member2_config.layers"):
        fn.load_model(path, max_bytes=limit)


@pytest.mark.parametrize("members, words", [
    (lambda: [member(4, 0)], "2 to 64 members"),
    (lambda: [member(4, 0), member(4, 1, input_dim=5)], "input width"),
    (lambda: [member(4, 0), fn.Sequential([fn.Dense(2)], input_dim=3)], "not built and "
                                                                         "compiled"),
])
def test_an_ensemble_checks_its_members(members, words):
    with pytest.raises(ValueError, match=words):
        fn.Ensemble(members())
