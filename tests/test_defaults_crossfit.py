"""Cross-fitting (the ``cross_fit`` option; fastnn.defaults' rule below 5000 training rows): K
networks, each trained on the other folds' rows and validated on its own fold, averaged."""

import numpy as np
import pandas as pd
import pytest

import fastnn as fn
from fastnn import defaults

TINY = {"epochs": 3, "layers": (4,), "lr": 0.01}


def binary_frame(n=60, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                         "y": np.where(X[:, 0] > 0, "yes", "no")})


def test_each_network_trains_on_the_other_folds_and_validates_on_its_own(monkeypatch):
    frame = binary_frame()
    seen = []
    real_fit = fn.Sequential.fit

    def spy(self, X, y, *args, validation_data=None, **kwargs):
        seen.append((X.copy(), validation_data[0].copy()))
        return real_fit(self, X, y, *args, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(fn.Sequential, "fit", spy)
    model = fn.TabularModel(target="y", cross_fit=3, **TINY).fit(frame)
    everything = {tuple(row) for row in model.inputs(frame)}
    assert len(everything) == len(frame) and len(seen) == 3
    validated = []
    for X, X_val in seen:
        trained, held = {tuple(r) for r in X}, {tuple(r) for r in X_val}
        assert len(X) == 40 and len(X_val) == 20
        assert trained | held == everything and not trained & held
        validated += held
    assert sorted(validated) == sorted(everything)  # every row validates exactly one network
    assert isinstance(model.network, fn.Ensemble) and len(model.network.members) == 3
    assert model.fit_report["rows"] == {"train": 60, "validation": 60}
    assert [f["epochs"] for f in model.fit_report["cross_fit"]] == [3, 3, 3]


def test_the_rule_cross_fits_small_tables_and_the_file_records_it(tmp_path):
    model = fn.TabularModel(target="y", **TINY).fit(binary_frame())
    assert model.settings["cross_fit"] == defaults.CROSS_FIT_FOLDS
    assert "cross_fit" in model.settings["defaulted"]
    assert len(model.network.members) == defaults.CROSS_FIT_FOLDS
    model.save(tmp_path / "m.fnn")
    loaded = fn.TabularModel.load(tmp_path / "m.fnn")
    assert loaded.settings["cross_fit"] == defaults.CROSS_FIT_FOLDS
    np.testing.assert_array_equal(loaded.predict_proba(binary_frame()),
                                  model.predict_proba(binary_frame()))


@pytest.mark.parametrize("options", [{"cross_fit": 1}, {"val_split": 0}])
def test_one_network_when_asked_or_without_validation_rows(options):
    model = fn.TabularModel(target="y", **TINY, **options).fit(binary_frame())
    assert isinstance(model.network, fn.Sequential) and model.settings["cross_fit"] == 1
    assert "cross_fit" not in model.fit_report


def test_more_folds_than_rows_is_refused():
    with pytest.raises(ValueError, match="cross_fit 8 needs at least 8 rows"):
        fn.TabularModel(target="y", cross_fit=8, **TINY).fit(binary_frame(n=6))


def test_ctrl_c_keeps_the_networks_trained_so_far_and_raises_again():
    class InterruptThird(fn.Callback):
        fits = 0

        def on_train_begin(self, logs=None):
            InterruptThird.fits += 1

        def on_epoch_end(self, epoch, logs=None):
            if InterruptThird.fits == 3 and epoch == 1:
                raise KeyboardInterrupt

    model = fn.TabularModel(target="y", cross_fit=4, **TINY)
    with pytest.raises(KeyboardInterrupt):
        model.fit(binary_frame(), callbacks=[InterruptThird()])
    assert len(model.network.members) == 3  # two whole, the third with the epochs it ran
    assert model.fit_report["stopped"] == "interrupted"
    assert [f["epochs"] for f in model.fit_report["cross_fit"]] == [3, 3, 2]
    assert len(model.predict(binary_frame(5))) == 5


def test_the_validation_scores_are_weighted_by_each_fold_s_rows():
    from fastnn.tabular.fitting import weighted_mean

    assert weighted_mean([(1, {"loss": 1.0, "r2": None}), (3, {"loss": 3.0, "r2": 0.5})]) == {
        "loss": 2.5, "r2": None}  # R2 undefined on a fold (a constant target): undefined
