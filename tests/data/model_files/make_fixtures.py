"""Writes the model-file fixtures of this folder: files that an earlier fastnn wrote, which every
later fastnn must load with the same weights and predictions (tests/test_model_file_compat.py).

Run from the repository root with the fastnn whose files should be kept (these were written by
fastnn 0.1.0, model-file format version 1): ``python tests/data/model_files/make_fixtures.py``.
Besides the ``.fnn`` files it writes ``expected.npz``: for each file written from Python the input
rows ``X_<name>`` and the outputs ``Y_<name>`` the writing fastnn predicted for them; and for each
file written by ``fastnn train``, ``<name>.csv``: what ``fastnn predict`` wrote for the example
table it names.
"""

import os
import subprocess
import sys

import numpy as np

import fastnn as fn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def every_layer():
    """float32, each layer class, regularizer, initializers, Adam on a cyclic schedule, trained
    (optimizer state and iterations saved), user metadata."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(float)
    model = fn.Sequential([
        fn.Dense(6, activation="elu", kernel_initializer="he_normal",
                 kernel_regularizer=fn.l1_l2(1e-3, 1e-2)),
        fn.BatchNormalization(momentum=0.9),
        fn.PReLU(alpha_initializer=0.1),
        fn.Dropout(0.2),
        fn.Maxout(5, pieces=3, bias_initializer=fn.initializers.Constant(0.1)),
        fn.Activation("tanh"),
        fn.Dense(1, activation="sigmoid", kernel_initializer="random_normal")],
        input_dim=4, seed=3, name="every_layer")
    schedule = fn.schedules.CyclicLR(base_lr=1e-3, max_lr=1e-2, step_size=4)
    model.compile(optimizer=fn.Adam(learning_rate=schedule, amsgrad=True, clipnorm=1.0),
                  loss="bce", metrics=["accuracy"])
    model.fit(X, y, epochs=2, batch_size=8)
    model.metadata = {"note": "user metadata", "values": [1, 2.5, None, True]}
    return model, X


def float64_huber_no_optimizer():
    """float64, SGD with Nesterov momentum, Huber loss, saved without the optimizer state."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = fn.Sequential([fn.Dense(4, activation="leaky_relu"), fn.Dense(1)], input_dim=3,
                          seed=5, dtype="float64")
    model.compile(optimizer=fn.SGD(0.01, momentum=0.9, nesterov=True), loss=fn.Huber(2.0),
                  metrics=["mae"])
    model.fit(X, y, epochs=2, batch_size=10)
    return model, X


def not_compiled():
    """Built, never compiled: no compile settings, no optimizer state."""
    model = fn.Sequential([fn.Dense(3, activation="softmax")], input_dim=2, seed=9)
    return model, np.random.default_rng(2).standard_normal((5, 2))


def main():
    expected = {}
    for make in (every_layer, float64_huber_no_optimizer, not_compiled):
        model, X = make()
        model.save(os.path.join(HERE, f"{make.__name__}.fnn"),
                   include_optimizer=make is not float64_huber_no_optimizer)
        expected[f"X_{make.__name__}"] = X
        expected[f"Y_{make.__name__}"] = model.predict(X)
    # Models written by the command: numeric and categorical features, three tasks.
    iris_binary = os.path.join(HERE, "iris_binary.csv")
    commands = {  # name: (the training arguments, the table predicted)
        "cli_penguins_multiclass": (["examples/penguins.csv", "--target", "species"],
                                    "examples/penguins.csv"),
        "cli_penguins_regression": (["examples/penguins.csv", "--target", "body_mass_g"],
                                    "examples/penguins.csv"),
        "cli_iris_binary_hinge": ([iris_binary, "--loss", "hinge"], "examples/iris.csv"),
    }
    import pandas as pd

    iris = pd.read_csv(os.path.join(ROOT, "examples/iris.csv"))
    iris[iris.species != "setosa"].to_csv(iris_binary, index=False)
    for name, (args, table) in commands.items():
        out = os.path.join(HERE, f"{name}.fnn")
        subprocess.run([sys.executable, "-m", "fastnn_cli", "train", *args, "--epochs", "3",
                        "--layers", "6", "--quiet", "--out", out], cwd=ROOT, check=True)
        subprocess.run([sys.executable, "-m", "fastnn_cli", "predict", out, table, "--quiet",
                        "--out", os.path.join(HERE, f"{name}.csv")], cwd=ROOT, check=True)
    os.unlink(iris_binary)
    np.savez(os.path.join(HERE, "expected.npz"), **expected)


if __name__ == "__main__":
    main()
