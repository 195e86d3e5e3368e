"""The model file: round trips, resumed training, atomic writes, and clear errors."""

import json
import os
import zipfile

import numpy as np
import pytest

import fastnn as fn


def _trained(rng, **compile_kwargs):
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > X[:, 1]).astype(float)
    model = fn.Sequential([fn.Dense(5, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=3, seed=4)
    model.compile(optimizer=fn.SGD(0.2), loss="bce", metrics=["accuracy"], **compile_kwargs)
    model.fit(X, y, epochs=3, batch_size=8)
    return model, X, y


def test_round_trip_predictions_and_config(tmp_path, rng):
    model, X, y = _trained(rng)
    path = tmp_path / "m.fnn"
    model.save(path, metadata={"columns": ["a", "b", "c"]})
    loaded = fn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.metadata == {"columns": ["a", "b", "c"]}
    assert loaded.evaluate(X, y) == model.evaluate(X, y)
    assert [type(layer) for layer in loaded.layers] == [fn.Dense, fn.Dense]
    assert loaded.layers[1].activation == "sigmoid"


def test_resumed_training_is_identical_when_the_optimizer_state_is_saved(tmp_path, rng):
    model, X, y = _trained(rng)
    model.save(tmp_path / "m.fnn")
    loaded = fn.load_model(tmp_path / "m.fnn")
    assert loaded.iterations == model.iterations
    model.fit(X, y, epochs=2, batch_size=8)
    loaded.fit(X, y, epochs=2, batch_size=8)
    assert loaded.params.tobytes() == model.params.tobytes()


def test_huber_delta_survives(tmp_path, rng):
    model = fn.Sequential([fn.Dense(1)], input_dim=2, seed=0)
    model.compile(loss=fn.Huber(2.5))
    model.save(tmp_path / "h.fnn")
    assert fn.load_model(tmp_path / "h.fnn").loss_param == 2.5


def _corrupt_variants(good):
    data = good.read_bytes()
    yield "truncated", data[: len(data) // 2]
    yield "foreign", b"col_a,col_b\n1,2\n"
    yield "empty", b""
    flipped = bytearray(data)
    flipped[len(flipped) // 3: len(flipped) // 3 + 64] = b"\xff" * 64
    yield "flipped", bytes(flipped)


@pytest.mark.parametrize("variant", ["truncated", "foreign", "empty", "flipped"])
def test_corrupt_files_fail_with_a_clear_error_naming_the_file(tmp_path, rng, variant):
    model, _, _ = _trained(rng)
    good = tmp_path / "good.fnn"
    model.save(good)
    bad = tmp_path / f"{variant}.fnn"
    bad.write_bytes(dict(_corrupt_variants(good))[variant])
    with pytest.raises(fn.ModelFileError, match=f"{variant}.fnn"):
        fn.load_model(bad)


def test_missing_file(tmp_path):
    with pytest.raises(fn.ModelFileError, match="no such model file"):
        fn.load_model(tmp_path / "nope.fnn")


def _rewrite_config(src, dst, change):
    with np.load(src) as archive:
        arrays = {k: archive[k] for k in archive.files}
    config = json.loads(arrays["config"].tobytes())
    change(config)
    arrays["config"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


def test_future_format_version_is_refused(tmp_path, rng):
    model, _, _ = _trained(rng)
    model.save(tmp_path / "m.fnn")
    _rewrite_config(tmp_path / "m.fnn", tmp_path / "future.fnn",
                    lambda c: c.update(format_version=99))
    with pytest.raises(fn.ModelFileError, match="newer fastnn"):
        fn.load_model(tmp_path / "future.fnn")


def test_wrong_parameter_count_is_reported(tmp_path, rng):
    model, _, _ = _trained(rng)
    model.save(tmp_path / "m.fnn")
    _rewrite_config(tmp_path / "m.fnn", tmp_path / "wide.fnn",
                    lambda c: c["layers"][0].update(units=9))
    with pytest.raises(fn.ModelFileError, match="architecture needs"):
        fn.load_model(tmp_path / "wide.fnn")


def test_a_pickled_object_in_the_file_is_never_unpickled(tmp_path, rng):
    model, _, _ = _trained(rng)
    model.save(tmp_path / "m.fnn")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with np.load(tmp_path / "m.fnn") as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["params"] = np.array([Exploit()], dtype=object)
    with open(tmp_path / "evil.fnn", "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(fn.ModelFileError):
        fn.load_model(tmp_path / "evil.fnn")
    assert not marker.exists()


def test_a_failed_save_leaves_the_old_file_intact(tmp_path, rng, monkeypatch):
    model, _, _ = _trained(rng)
    path = tmp_path / "m.fnn"
    model.save(path)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fnn"]
    assert zipfile.is_zipfile(path)
