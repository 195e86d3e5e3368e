"""Model files written by an earlier fastnn (tests/data/model_files, made by its
make_fixtures.py) load with the same weights and give the same predictions."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import fastnn as fn
from fastnn_cli.app import cli

FIXTURES = Path(__file__).parent / "data" / "model_files"
EXAMPLES = Path(__file__).parent.parent / "examples"
PYTHON_MODELS = ["every_layer", "float64_huber_no_optimizer", "not_compiled"]
# name: the example table its predictions were made for
CLI_MODELS = {"cli_penguins_multiclass": "penguins.csv",
              "cli_penguins_regression": "penguins.csv",
              "cli_iris_binary_hinge": "iris.csv"}


@pytest.mark.parametrize("name", PYTHON_MODELS)
def test_a_model_saved_from_python_predicts_as_before(name):
    expected = np.load(FIXTURES / "expected.npz")
    model = fn.load_model(FIXTURES / f"{name}.fnn")
    assert model.predict(expected[f"X_{name}"]).tobytes() == expected[f"Y_{name}"].tobytes()


def test_the_saved_training_state_is_restored():
    model = fn.load_model(FIXTURES / "every_layer.fnn")
    assert model.iterations == 10
    assert model.training_state.optimizer_state.shape == (3, model.count_params())
    assert model.metadata == {"note": "user metadata", "values": [1, 2.5, None, True]}
    assert model.optimizer.get_config()["learning_rate"]["name"] == "cyclic"
    assert fn.load_model(FIXTURES / "float64_huber_no_optimizer.fnn").loss_param == 2.0


@pytest.mark.parametrize("name", sorted(CLI_MODELS))
def test_a_model_written_by_the_command_predicts_as_before(name, tmp_path):
    out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(cli, ["predict", str(FIXTURES / f"{name}.fnn"),
                                      str(EXAMPLES / CLI_MODELS[name]), "--quiet",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    # labels exactly; numbers to float32's precision, as the BLAS's kernel for this CPU sums
    # the products in its own order (the fixtures were written on another machine)
    got, expected = pd.read_csv(out), pd.read_csv(FIXTURES / f"{name}.csv")
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        if pd.api.types.is_float_dtype(expected[column]):
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-6, atol=0)
        else:
            assert list(got[column]) == list(expected[column])
    assert CliRunner().invoke(cli, ["info", str(FIXTURES / f"{name}.fnn")]).exit_code == 0
