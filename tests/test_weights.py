"""Sample and class weights: the weighted mean loss against PyTorch's unreduced losses, for every
loss, and the weights in fit, evaluate and the reported metrics. The convention (docs/training.md):
a batch's loss is sum_i w_i l_i / sum_i w_i (l_i the row's mean over its outputs)."""

import numpy as np
import pytest

import fastnn as fn
from fastnn import losses
from fastnn.kernels.losses import loss_and_gradient

torch = pytest.importorskip("torch")
F = torch.nn.functional
B, K = 7, 3


def _case(name, rng):
    """(outputs, targets as fastnn takes them) for the loss ``name``."""
    if name == "binary_crossentropy":
        return rng.uniform(0.05, 0.95, (B, K)), rng.integers(0, 2, (B, K)).astype(float)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        p = rng.uniform(0.1, 1.0, (B, K))
        c = rng.integers(0, K, B)
        y = np.eye(K)[c] if name == "categorical_crossentropy" else c.reshape(-1, 1).astype(float)
        return p / p.sum(axis=1, keepdims=True), y
    if name == "hinge":
        return rng.standard_normal((B, K)) * 2, rng.choice([-1.0, 1.0], (B, K))
    return rng.standard_normal((B, K)) * 2, rng.standard_normal((B, K))


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_weighted_loss_and_gradient_match_torch(name, rng):
    out, y = _case(name, rng)
    w = rng.uniform(0.0, 3.0, B)
    w[2] = 0.0
    spec, param = losses.resolve(name)
    o = torch.from_numpy(out).requires_grad_(True)
    rows = _torch_rows(name, o, y)
    weights = torch.from_numpy(w)
    expected = (weights * rows).sum() / weights.sum()
    expected.backward()
    grad = np.empty_like(out)
    value = loss_and_gradient(spec.code, out, y, w, grad, param, False)
    assert value == pytest.approx(expected.item(), rel=1e-6)
    np.testing.assert_allclose(grad, o.grad.numpy(), rtol=1e-6, atol=1e-12)


def _torch_rows(name, o, y):
    """torch's per-row losses (reduction="none", then the mean over a row's outputs) of the
    outputs tensor ``o``, so that autograd gives dL/do."""
    yt = torch.from_numpy(y)
    if name == "binary_crossentropy":
        return F.binary_cross_entropy(o, yt, reduction="none").mean(dim=1)
    if name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        c = yt.argmax(dim=1) if name == "categorical_crossentropy" else yt[:, 0].long()
        return F.nll_loss(torch.log(o), c, reduction="none")
    if name == "hinge":
        return torch.clamp(1 - yt * o, min=0).mean(dim=1)
    reduce = {"mse": F.mse_loss, "mae": F.l1_loss, "huber": F.huber_loss}[name]
    return reduce(o, yt, reduction="none").mean(dim=1)


def _classifier():
    return fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(3, activation="softmax")],
                         input_dim=2, seed=0, dtype="float64").compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def test_integer_weights_equal_repeated_rows_in_one_full_batch(rng):
    X, y = rng.normal(size=(12, 2)), rng.integers(0, 3, 12)
    w = rng.integers(0, 4, 12)
    weighted, repeated = _classifier(), _classifier()
    weighted.fit(X, y, epochs=3, batch_size=12, sample_weight=w)
    repeated.fit(np.repeat(X, w, axis=0), np.repeat(y, w), epochs=3, batch_size=int(w.sum()))
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.evaluate(X, y, sample_weight=w)["loss"],
                               repeated.evaluate(np.repeat(X, w, axis=0), np.repeat(y, w))["loss"],
                               rtol=1e-10)


def test_balanced_class_weights_are_scikit_learns(rng):
    y = np.array([0, 0, 0, 1, 2, 2])
    Y = losses.prepare_targets(losses.LOSSES["sparse_categorical_crossentropy"], y, 3,
                               np.float64)
    w = losses.class_weights(losses.LOSSES["sparse_categorical_crossentropy"], Y, "balanced", 3)
    np.testing.assert_allclose(w, 6 / (3 * np.array([3, 3, 3, 1, 2, 2])))
    model = _classifier()
    history = model.fit(rng.normal(size=(6, 2)), y, epochs=2, batch_size=3,
                        class_weight={0: 0.5, 2: 2.0})
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("kwargs, match", [
    (dict(sample_weight=np.ones(3)), "one weight per row"),
    (dict(sample_weight=-np.ones(6)), ">= 0"),
    (dict(sample_weight=np.zeros(6)), "sum to 0"),
    (dict(sample_weight=np.full(6, np.nan)), "NaN"),
    (dict(class_weight={5: 1.0}), "not a class"),
    (dict(class_weight="even"), "balanced"),
])
def test_bad_weights_are_refused(kwargs, match, rng):
    with pytest.raises(ValueError, match=match):
        _classifier().fit(rng.normal(size=(6, 2)), np.array([0, 1, 2, 0, 1, 2]), **kwargs)
