"""Initializers: the distribution each name promises, and the "auto" choice."""

import numpy as np
import pytest

from fastnn import initializers

FAN_IN, FAN_OUT = 400, 300
# name -> expected standard deviation of the values, and whether it is uniform
SPREADS = {
    "glorot_uniform": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "glorot_normal": np.sqrt(2 / (FAN_IN + FAN_OUT)),
    "he_uniform": np.sqrt(2 / FAN_IN),
    "he_normal": np.sqrt(2 / FAN_IN),
    "lecun_uniform": np.sqrt(1 / FAN_IN),
    "lecun_normal": np.sqrt(1 / FAN_IN),
    "random_normal": 0.05,
    "random_uniform": 0.05 / np.sqrt(3),
}


@pytest.mark.parametrize("name", list(SPREADS))
def test_standard_deviation(name):
    values = initializers.get(name)((FAN_IN, FAN_OUT), np.random.default_rng(0))
    assert values.shape == (FAN_IN, FAN_OUT)
    assert values.std() == pytest.approx(SPREADS[name], rel=0.02)
    assert abs(values.mean()) < 0.01 * SPREADS[name] * 10
    if name.endswith("_uniform"):
        limit = SPREADS[name] * np.sqrt(3)
        assert np.abs(values).max() <= limit
    if name in ("glorot_normal", "he_normal", "lecun_normal"):
        assert np.abs(values).max() <= 2 * SPREADS[name] / initializers.TRUNCATED_STD


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0)])
def test_constants(name, value):
    assert np.all(initializers.get(name)((3, 2), np.random.default_rng(0)) == value)
    assert np.all(initializers.Constant(0.7)((2,), np.random.default_rng(0)) == 0.7)


@pytest.mark.parametrize("activation, expected", [
    ("relu", "he_uniform"), ("leaky_relu", "he_uniform"), ("elu", "he_uniform"),
    ("selu", "lecun_normal"), ("tanh", "glorot_uniform"), (None, "glorot_uniform"),
    ("sigmoid", "glorot_uniform"),
])
def test_auto(activation, expected):
    assert initializers.get("auto", activation).name == expected


def test_config_round_trip():
    init = initializers.RandomNormal(mean=1.0, stddev=0.2)
    again = initializers.get(init.get_config())
    assert (again.mean, again.stddev) == (1.0, 0.2)
