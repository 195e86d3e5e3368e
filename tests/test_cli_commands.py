"""The fastnn command's train, predict, evaluate and info, through Click's CliRunner."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_runner import run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAST = ["--epochs", "40", "--lr", "0.01", "--early-stopping", "0", "--dropout", "0",
        "--cross-fit", "1"]


def copy_example(folder, name):
    target = Path(folder) / name
    shutil.copy(EXAMPLES / name, target)
    return target


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    """A folder with iris.csv and the model trained on it (default --out), and train's JSON."""
    folder = tmp_path_factory.mktemp("iris")
    data = copy_example(folder, "iris.csv")
    result = run("train", data, *FAST, "--json")
    return folder, json.loads(result.stdout)


def test_train_writes_the_model_next_to_the_data_and_reports_json(iris):
    folder, report = iris
    assert Path(report["model"]) == folder / "iris.fnn" and (folder / "iris.fnn").is_file()
    assert (report["task"], report["target"], report["loss"]) == ("multiclass", "species", "scce")
    assert report["rows"] == {"train": 120, "validation": 30}
    assert report["epochs"] == 40 and report["stopped"] == "completed"
    assert report["train"]["accuracy"] > 0.9
    assert report["validation"]["accuracy"] >= 0.8


def test_end_to_end_evaluate_and_predict_string_labels(iris, tmp_path):
    folder, _ = iris
    model, data = folder / "iris.fnn", folder / "iris.csv"
    scores = json.loads(run("evaluate", model, data, "--json").stdout)
    assert scores["rows"] == 150 and scores["accuracy"] > 0.9
    assert set(scores["per_class"]) == {"setosa", "versicolor", "virginica"}
    assert all(row["support"] == 50 for row in scores["per_class"].values())

    out = tmp_path / "preds.csv"
    run("predict", model, data, "--out", out, "--proba")
    preds, truth = pd.read_csv(out), pd.read_csv(data)
    assert list(preds.columns) == ["species", "proba_setosa", "proba_versicolor",
                                   "proba_virginica"]
    assert (preds["species"] == truth["species"]).mean() == pytest.approx(scores["accuracy"])
    np.testing.assert_allclose(preds.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-5)


def test_predict_without_out_prints_csv_and_ignores_the_target_column(iris):
    folder, _ = iris
    without_target = pd.read_csv(folder / "iris.csv").drop(columns=["species"]).head(5)
    path = folder / "new.csv"
    without_target.to_csv(path, index=False)
    stdout = run("predict", folder / "iris.fnn", path).stdout
    lines = stdout.strip().splitlines()
    assert lines[0] == "species" and len(lines) == 6 and set(lines[1:]) == {"setosa"}
    with_target = run("predict", folder / "iris.fnn", folder / "iris.csv").stdout
    assert with_target.splitlines()[1:6] == lines[1:]


def test_messages_go_to_stderr_and_results_to_stdout(iris, tmp_path):
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "3")
    assert result.stdout == ""
    assert "saved the model to" in result.stderr and "accuracy" in result.stderr
    assert "epoch 3/3" in result.stderr  # the last progress line (stderr is not a terminal)
    evaluation = run("evaluate", iris[0] / "iris.fnn", iris[0] / "iris.csv")
    assert evaluation.stderr == "" and "precision" in evaluation.stdout


def test_json_is_one_object_on_stdout_and_quiet_prints_nothing(tmp_path):
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "2", "--json")
    assert len(result.stdout.strip().splitlines()) == 1
    assert isinstance(json.loads(result.stdout), dict)
    assert "saved the model" not in result.stderr
    quiet = run("train", data, "--epochs", "2", "--quiet")
    assert quiet.stdout == "" and quiet.stderr == ""


def test_info_shows_architecture_settings_columns_and_version(iris):
    import fastnn

    model = iris[0] / "iris.fnn"
    text = run("info", model).stdout
    for expected in ("Total params", f"fastnn {fastnn.__version__}", "opt=adam",
                     "sepal length (cm): numeric", "classes ['setosa', 'versicolor', 'virginica']"):
        assert expected in text
    described = json.loads(run("info", model, "--json").stdout)
    assert described["fastnn_version"] == fastnn.__version__
    assert described["settings"]["epochs"] == 40 and described["input_dim"] == 4
    assert [c["name"] for c in described["features"]["columns"]][0] == "sepal length (cm)"


def test_info_on_a_model_saved_from_python(tmp_path):
    import fastnn as fn

    model = fn.Sequential([fn.Dense(2)], input_dim=3)
    model.save(tmp_path / "plain.fnn")
    assert "no CSV preprocessing" in run("info", tmp_path / "plain.fnn").stdout
    result = run("predict", tmp_path / "plain.fnn", EXAMPLES / "iris.csv", code=2)
    assert "not written by `fastnn train`" in result.stderr


def test_categorical_columns_missing_values_and_unseen_categories(tmp_path):
    data = copy_example(tmp_path, "penguins.csv")
    result = run("train", data, "--target", "species", *FAST, "--json")
    report = json.loads(result.stdout)
    assert report["inputs"] == 10  # 3 islands + 4 numbers + 2 sexes + year
    assert report["validation"]["accuracy"] > 0.9
    assert "filled 8 missing numeric value(s) with the training median" in result.stderr
    assert "11 missing categorical value(s)" in result.stderr
    new = pd.read_csv(data).head(3).drop(columns=["species"])
    new["island"] = ["Atlantis", None, "Dream"]
    new.to_csv(tmp_path / "new.csv", index=False)
    out = run("predict", tmp_path / "penguins.fnn", tmp_path / "new.csv")
    assert out.stdout.splitlines()[0] == "species" and len(out.stdout.splitlines()) == 4
    assert "1 missing categorical value(s)" in out.stderr


def test_regression_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    price = 500 + 120 * X[:, 0] - 80 * X[:, 1] + 5 * rng.standard_normal(300)
    table = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "price": price})
    table.to_csv(tmp_path / "houses.csv", index=False)
    report = json.loads(run("train", tmp_path / "houses.csv", "--loss", "mae", *FAST,
                            "--json").stdout)
    assert (report["task"], report["loss"]) == ("regression", "mae")
    assert report["validation"]["r2"] > 0.95
    assert report["validation"]["mae"] < 30  # in the target's units (its spread is ~150)
    preds = pd.read_csv(pd.io.common.StringIO(
        run("predict", tmp_path / "houses.fnn", tmp_path / "houses.csv").stdout))
    assert abs(preds["price"].mean() - price.mean()) < 10
    scores = json.loads(run("evaluate", tmp_path / "houses.fnn", tmp_path / "houses.csv",
                            "--json").stdout)
    assert set(scores) >= {"loss", "mse", "mae", "r2"} and "accuracy" not in scores


def binary_table(path, labels=("no", "yes")):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, labels[1], labels[0])
    pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "answer": y}).to_csv(path, index=False)


@pytest.mark.parametrize("loss, proba", [("auto", True), ("hinge", False)])
def test_binary_string_labels_round_trip(tmp_path, loss, proba):
    binary_table(tmp_path / "b.csv")
    report = json.loads(run("train", tmp_path / "b.csv", "--loss", loss, *FAST,
                            "--json").stdout)
    assert report["task"] == "binary" and report["validation"]["accuracy"] > 0.9
    args = ["predict", tmp_path / "b.fnn", tmp_path / "b.csv"] + (["--proba"] if proba else [])
    preds = pd.read_csv(pd.io.common.StringIO(run(*args).stdout))
    assert set(preds["answer"]) == {"no", "yes"}
    if proba:
        assert list(preds.columns) == ["answer", "proba_no", "proba_yes"]
    else:
        result = run("predict", tmp_path / "b.fnn", tmp_path / "b.csv", "--proba", code=2)
        assert "--proba needs a probabilistic classifier" in result.stderr


@pytest.mark.parametrize("options, check", [
    (["--layers", ""], lambda info: len(info["layers"]) == 1),
    (["--layers", "8,8,8"], lambda info: [c["units"] for c in info["layers"]] == [8, 8, 8, 3]),
    (["--activation", "tanh"], lambda info: info["layers"][0]["activation"] == "tanh"),
    (["--init", "glorot_uniform"],
     lambda info: info["layers"][0]["kernel_initializer"]["name"] == "glorot_uniform"),
    (["--dtype", "float64"], lambda info: info["dtype"] == "float64"),
    (["--dropout", "0.3", "--layers", "16,8"],
     lambda info: [c["class"] for c in info["layers"]] == ["Dense", "Dropout"] * 2 + ["Dense"]
     and info["layers"][1]["rate"] == 0.3),
    (["--batchnorm", "--layers", "16"],
     lambda info: [c["class"] for c in info["layers"]]
     == ["Dense", "BatchNormalization", "Activation", "Dense"]
     and info["layers"][0]["activation"] == "linear"
     and info["layers"][0]["kernel_initializer"]["name"] == "he_uniform"
     and info["layers"][2]["activation"] == "relu"),
    (["--batchnorm", "--dropout", "0.1", "--layers", "16"],
     lambda info: [c["class"] for c in info["layers"]]
     == ["Dense", "BatchNormalization", "Activation", "Dropout", "Dense"]),
    (["--l1", "0.001", "--l2", "0.01"],
     lambda info: all(c["kernel_regularizer"] == {"l1": 0.001, "l2": 0.01}
                      for c in info["layers"])),
    (["--l2", "0.01"], lambda info: info["layers"][0]["kernel_regularizer"]["l2"] == 0.01),
    (["--batch-size", "sqrt"], lambda info: info["settings"]["batch_size"] == 11),  # sqrt(120)
    (["--batch-size", "7"], lambda info: info["settings"]["batch_size"] == 7),
    (["--loss", "cce"], lambda info: info["compile"]["loss"] == "categorical_crossentropy"),
    (["--opt", "SGD", "--lr", "0.2"],
     lambda info: info["compile"]["optimizer"]["name"] == "sgd"
     and info["compile"]["optimizer"]["learning_rate"] == 0.2),
    (["--opt", "nesterov"], lambda info: info["compile"]["optimizer"]["nesterov"] is True),
    (["--opt", "rmsprop"], lambda info: info["compile"]["optimizer"]["name"] == "rmsprop"
     and info["settings"]["lr"] == 0.001),
    (["--clipnorm", "0.5"], lambda info: info["compile"]["optimizer"]["clipnorm"] == 0.5),
    (["--schedule", "cosine_decay", "--lr", "0.01"],  # 2 epochs x 4 batches
     lambda info: info["compile"]["optimizer"]["learning_rate"]
     == {"name": "cosine_decay", "initial_learning_rate": 0.01, "decay_steps": 8,
         "alpha": 0.0, "warmup_target": None, "warmup_steps": 0}),
    (["--schedule", "cyclic", "--lr", "0.01"],
     lambda info: info["compile"]["optimizer"]["learning_rate"]["max_lr"] == 0.01),
    (["--schedule", "exp"],
     lambda info: info["compile"]["optimizer"]["learning_rate"]["name"] == "exponential_decay"
     and info["settings"]["schedule"] == "exponential_decay"),
    (["--schedule", "time"],
     lambda info: info["compile"]["optimizer"]["learning_rate"]["name"] == "time_based_decay"),
    (["--schedule", "step"],
     lambda info: info["compile"]["optimizer"]["learning_rate"]["name"] == "step_decay"),
    (["--schedule", "cosine"],
     lambda info: info["compile"]["optimizer"]["learning_rate"]["name"] == "cosine_decay"),
    (["--val-split", "0"], lambda info: info["data"]["validation_rows"] == 0),
    (["--val-split", "0.5"], lambda info: info["data"]["validation_rows"] == 75),
    (["--cross-fit", "3"], lambda info: info["settings"]["cross_fit"] == 3
     and info["data"] == {"file": "iris.csv", "train_rows": 150, "validation_rows": 150}),
    (["--task", "multiclass", "--target", "petal width (cm)"],
     lambda info: info["target"]["task"] == "multiclass" and len(info["target"]["classes"]) > 10),
])
def test_options_reach_the_model(tmp_path, options, check):
    data = copy_example(tmp_path, "iris.csv")
    # no dropout unless asked, so that layer positions are those of the Dense layers
    run("train", data, "--epochs", "2", "--dropout", "0", "--cross-fit", "1", "--out",
        tmp_path / "m.fnn", *options)
    assert check(json.loads(run("info", tmp_path / "m.fnn", "--json").stdout))


def test_l2_penalty_shrinks_the_weights(tmp_path):
    import fastnn as fn

    data = copy_example(tmp_path, "iris.csv")
    norms = {}
    for l2 in ("0", "0.1"):
        run("train", data, "--epochs", "30", "--lr", "0.01", "--cross-fit", "1", "--l2", l2,
            "--out", tmp_path / f"{l2}.fnn")
        norms[l2] = np.linalg.norm(fn.load_model(tmp_path / f"{l2}.fnn").params)
    assert norms["0.1"] < 0.8 * norms["0"]


def test_integer_target_forced_to_regression(tmp_path):
    table = pd.DataFrame({"x": np.arange(40) % 7, "y": (np.arange(40) % 7) * 3})
    table.to_csv(tmp_path / "t.csv", index=False)
    assert json.loads(run("train", tmp_path / "t.csv", "--epochs", "2", "--json").stdout)[
        "task"] == "multiclass"
    report = json.loads(run("train", tmp_path / "t.csv", "--task", "regression", "--epochs", "2",
                            "--json").stdout)
    assert report["task"] == "regression" and "r2" in report["train"]


def test_same_seed_same_model_other_seed_other_model(tmp_path):
    import fastnn as fn

    data = copy_example(tmp_path, "iris.csv")
    weights = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        run("train", data, "--epochs", "3", "--seed", seed, "--cross-fit", "1", "--out",
            tmp_path / f"{name}.fnn")
        weights[name] = fn.load_model(tmp_path / f"{name}.fnn").params
    np.testing.assert_array_equal(weights["a"], weights["b"])
    assert not np.array_equal(weights["a"], weights["c"])


def test_history_csv_has_one_row_per_epoch(tmp_path):
    data = copy_example(tmp_path, "iris.csv")
    run("train", data, "--epochs", "4", "--history", tmp_path / "h.csv")
    history = pd.read_csv(tmp_path / "h.csv")
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    data = copy_example(tmp_path, "iris.csv")
    run("train", data, "--epochs", "3", "--plot", tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_asks_to_install_it_before_training(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--plot", tmp_path / "c.png", code=2)
    assert "pip install 'fastnn[plot]'" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iris.csv"]


def break_at_epoch(monkeypatch, epoch, action):
    """Run ``action(model)`` at the end of 0-based ``epoch``, from the CLI's progress callback
    (after fastnn's own callbacks have run)."""
    from fastnn_cli import train

    show = train.ShowEpoch.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        show(self, e, logs)
        if e == epoch:
            action(self.model)

    monkeypatch.setattr(train.ShowEpoch, "on_epoch_end", on_epoch_end)


def test_ctrl_c_saves_the_best_model_says_so_and_exits_130(tmp_path, monkeypatch):
    import fastnn as fn

    def interrupt(model):
        raise KeyboardInterrupt

    break_at_epoch(monkeypatch, 4, interrupt)
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "50", "--cross-fit", "1", "--history",
                 tmp_path / "h.csv", code=130)
    assert "interrupted during epoch 6; saved the best model seen (epoch" in result.stderr
    assert "Traceback" not in result.output
    model = fn.load_model(tmp_path / "iris.fnn")
    assert model.metadata["fastnn_cli"]["target"]["name"] == "species"
    assert len(pd.read_csv(tmp_path / "h.csv")) == 5


def test_a_cross_fitted_run_reports_each_network_s_epochs(tmp_path):
    data = copy_example(tmp_path, "iris.csv")
    networks = json.loads(run("train", data, "--epochs", "3", "--cross-fit", "3",
                              "--json").stdout)["cross_fit"]
    assert [n["epochs"] for n in networks] == [3, 3, 3]
    shown = run("train", data, "--epochs", "3", "--cross-fit", "3")
    assert "3 cross-fitted networks averaged" in shown.stderr and "3 epoch(s)" not in shown.stderr
    best = ", ".join(f"3 ({n['best_epoch']})" for n in networks)
    assert f"epochs run per network (best epoch): {best}; each validated on its own fold" \
        in shown.stderr
    unstopped = run("train", data, "--epochs", "3", "--cross-fit", "3", "--early-stopping", "0")
    assert "epochs run per network (best epoch): 3, 3, 3;" in unstopped.stderr


def test_ctrl_c_while_cross_fitting_saves_the_networks_trained_so_far(tmp_path, monkeypatch):
    import fastnn as fn

    def interrupt(model):
        raise KeyboardInterrupt

    break_at_epoch(monkeypatch, 4, interrupt)
    data = copy_example(tmp_path, "iris.csv")  # 120 training rows: 5 networks by default
    result = run("train", data, "--epochs", "50", code=130)
    assert "interrupted while training network 1 of 5; saved the 1 trained so far" \
        in result.stderr
    assert fn.TabularModel.load(tmp_path / "iris.fnn").settings["cross_fit"] == 5


def test_diverging_training_saves_the_best_model_seen_and_exits_1(tmp_path, monkeypatch):
    import fastnn as fn

    def poison(model):
        model.params[:] = np.inf  # the next epoch's loss is not finite

    break_at_epoch(monkeypatch, 2, poison)
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "20", "--cross-fit", "1", "--json", code=1)
    report = json.loads(result.stdout)
    assert report["stopped"] == "diverged" and report["epochs"] == 4
    assert "training diverged at epoch 4; saved the best model seen (epoch 3" in result.stderr
    assert "the loss became NaN or infinite" in result.stderr  # fastnn's own explanation
    model = fn.load_model(tmp_path / "iris.fnn")
    assert np.all(np.isfinite(model.params))
    assert report["validation"]["loss"] < 2


def test_diverging_in_the_first_epoch_saves_nothing(tmp_path):
    table = pd.DataFrame({"x": np.linspace(-1, 1, 64), "y": np.linspace(0, 1000, 64)})
    table.to_csv(tmp_path / "r.csv", index=False)
    result = run("train", tmp_path / "r.csv", "--opt", "sgd", "--lr", "1e6", code=1)
    assert "training diverged in the first epoch; no model saved: lower --lr" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.fnn").exists()


def test_early_stopping_keeps_the_best_epoch(tmp_path):
    import fastnn as fn

    data = copy_example(tmp_path, "iris.csv")
    report = json.loads(run("train", data, "--cross-fit", "1", "--opt", "sgd", "--lr", "0.5",
                            "--epochs", "200",
                            "--early-stopping", "3", "--history", tmp_path / "h.csv",
                            "--json").stdout)
    history = pd.read_csv(tmp_path / "h.csv")
    assert report["stopped"] == "early_stopping" and report["epochs"] < 200
    assert report["epochs"] == len(history) == report["best_epoch"] + 3
    best = history["val_loss"].idxmin()
    assert report["best_epoch"] == history["epoch"][best]
    assert report["validation"]["loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert fn.load_model(tmp_path / "iris.fnn").metadata["fastnn_cli"]["settings"][
        "early_stopping"] == 3


def test_diagnose_prints_the_gradient_report(tmp_path):
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "3", "--diagnose")
    assert "Gradient diagnostics (epoch 3)" in result.stderr and "grad norm" in result.stderr
    report = json.loads(run("train", data, "--epochs", "3", "--diagnose", "--json").stdout)
    assert report["diagnostics"]["report"].startswith("Gradient diagnostics")
    assert isinstance(report["diagnostics"]["flags"], list)
    deep = run("train", data, "--epochs", "6", "--diagnose", "--layers", "8,8,8,8,8,8,8,8",
               "--activation", "sigmoid", "--init", "random_normal", "--opt", "sgd", "--json")
    kinds = {f["kind"] for f in json.loads(deep.stdout)["diagnostics"]["flags"]}
    assert "vanishing" in kinds


@pytest.mark.usefixtures("simulator_switching")
def test_device_cuda_trains_the_same_model_as_the_cpu(tmp_path):
    """On a GPU, or on Numba's CUDA simulator (switched on by conftest.py where there is none);
    five rows of each iris species."""
    import fastnn as fn

    iris = pd.read_csv(EXAMPLES / "iris.csv")
    data = tmp_path / "iris15.csv"
    iris.groupby("species").head(5).to_csv(data, index=False)
    small = ["--layers", "3", "--epochs", "1", "--batch-size", "15", "--val-split", "0"]
    for device in ("cpu", "cuda"):
        run("train", data, *small, "--device", device, "--out", tmp_path / f"{device}.fnn")
    cpu, cuda = (fn.load_model(tmp_path / f"{d}.fnn").params for d in ("cpu", "cuda"))
    np.testing.assert_allclose(cuda, cpu, rtol=1e-5, atol=1e-6)


def test_device_cuda_without_a_gpu_is_fastnns_clear_error(tmp_path):
    """In a child process with the simulator off: one line, exit 2, nothing written."""
    import os
    import subprocess

    from fastnn.cuda.simulator import ENV, gpu_present

    if gpu_present():
        pytest.skip("this machine has a CUDA GPU")
    data = copy_example(tmp_path, "iris.csv")
    env = dict(os.environ, **{ENV: "0"})
    out = subprocess.run([sys.executable, "-m", "fastnn_cli", "train", str(data), "--device",
                          "cuda"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == "Error: no CUDA GPU available; use device='cpu'"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iris.csv"]


@pytest.mark.parametrize("compiles, flags, shown", [
    (True, [], True), (False, [], False), (True, ["--quiet"], False),
])
def test_a_first_run_says_the_kernels_are_being_compiled(tmp_path, monkeypatch, compiles, flags,
                                                         shown):
    """The note comes from compile_cache.watch_compiles' on_start, which Numba's compile events
    call when a kernel really compiles (here simulated: the kernels are already cached)."""
    import contextlib

    from fastnn import compile_cache

    real_watch = compile_cache.watch_compiles

    @contextlib.contextmanager
    def watch(on_start=None):
        with real_watch(on_start) as watcher:
            if compiles and on_start is not None:
                on_start()
            yield watcher

    monkeypatch.setattr(compile_cache, "watch_compiles", watch)
    data = copy_example(tmp_path, "iris.csv")
    result = run("train", data, "--epochs", "1", *flags)
    assert ("compiling fastnn's kernels" in result.stderr) == shown
