"""fit's validation, logs, verbose line and progress hook."""

import numpy as np
import pytest

import fastnn as fn


def _data(n=40, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, (X[:, 0] - X[:, 1] > 0).astype(float)


def _model():
    model = fn.Sequential([fn.Dense(6, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=3, seed=1)
    model.compile(optimizer=fn.SGD(0.2), loss="bce", metrics=["accuracy", "mse"])
    return model


def test_validation_split_takes_the_last_rows_before_shuffling():
    X, y = _data()
    split = _model()
    h_split = split.fit(X, y, epochs=3, batch_size=4, validation_split=0.25)
    explicit = _model()
    h_explicit = explicit.fit(X[:30], y[:30], epochs=3, batch_size=4,
                              validation_data=(X[30:], y[30:]))
    assert h_split.history.keys() == h_explicit.history.keys()
    for key in h_split.history:
        if key != "time":
            assert h_split.history[key] == h_explicit.history[key]
    np.testing.assert_array_equal(split.params, explicit.params)
    assert split.iterations == 3 * 8  # 30 training rows in batches of 4


def test_validation_values_are_evaluate_on_the_validation_rows():
    X, y = _data()
    model = _model()
    history = model.fit(X, y, epochs=2, batch_size=8, validation_split=0.2)
    scores = model.evaluate(X[32:], y[32:])
    for key, value in scores.items():
        assert history.history["val_" + key][-1] == pytest.approx(value, rel=1e-12)
    assert list(history.history) == ["loss", "accuracy", "mse", "val_loss", "val_accuracy",
                                     "val_mse", "lr", "time"]
    assert all(t > 0 for t in history.history["time"])


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data()
    _model().fit(X, y, epochs=3, validation_split=0.2, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("Epoch 3/3 - ") and "- loss: " in lines[2]
    assert "- val_accuracy: " in lines[2] and lines[2].endswith("lr: 0.2")


def test_silent_by_default(capsys):
    X, y = _data()
    _model().fit(X, y, epochs=2)
    assert capsys.readouterr().out == ""


def test_progress_is_called_after_each_chunk(monkeypatch):
    import fastnn.trainer

    monkeypatch.setattr(fastnn.trainer, "CHUNK_ROWS", 12)
    calls = []
    X, y = _data()
    _model().fit(X, y, epochs=2, batch_size=4, progress=lambda *a: calls.append(a))
    # 10 batches per epoch, 3 per compiled call
    assert calls == [(e, done, 10) for e in range(2) for done in (3, 6, 9, 10)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(validation_split=0.2, validation_data=(np.ones((2, 3)), np.ones(2))), "not both"),
    (dict(validation_split=1.0), r"validation_split must be a number in \[0, 1\)"),
    (dict(validation_split="0.2"), "validation_split"),
    (dict(validation_split=0.99), "of 40 rows leaves no row for training"),
    (dict(validation_data=(np.ones((2, 3)),)), "pair"),
    (dict(validation_data=(np.ones((2, 4)), np.ones(2))), "4 feature column"),
    (dict(validation_data=(np.ones((2, 3)), np.ones(3))), "2 rows but y has 3"),
    (dict(verbose=3), "verbose"),
    (dict(progress="bar"), "progress"),
])
def test_bad_fit_arguments(kwargs, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _model().fit(X, y, **kwargs)
