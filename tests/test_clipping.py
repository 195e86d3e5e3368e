"""Gradient clipping: the global norm after clipnorm, per-component clipvalue, and both inside
the optimizer step and the compiled training loop."""

import numpy as np
import pytest

import fastnn as fn
from fastnn.kernels.clipping import clip_gradients, global_norm


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-14), (np.float32, 1e-6)])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_clipnorm_gives_norm_c_in_the_same_direction(dtype, rel, scale, rng):
    g = (rng.standard_normal(1000) * scale).astype(dtype)
    norm = np.linalg.norm(g.astype(np.float64))
    assert global_norm(g) == pytest.approx(norm, rel=rel)
    for c in (0.5 * norm, 0.01 * norm):
        clipped = g.copy()
        clip_gradients(clipped, c, 0.0)
        assert np.linalg.norm(clipped.astype(np.float64)) == pytest.approx(c, rel=rel)
        # the same direction: a positive multiple of g
        np.testing.assert_allclose(clipped, g * (c / norm), rtol=rel * 10, atol=0)
        assert np.all(np.sign(clipped) == np.sign(g))


@pytest.mark.parametrize("factor", [1.0 + 1e-9, 2.0])
def test_clipnorm_leaves_a_gradient_within_the_bound_unchanged(factor, rng):
    g = rng.standard_normal(50)
    clipped = g.copy()
    clip_gradients(clipped, factor * np.linalg.norm(g), 0.0)
    assert clipped.tobytes() == g.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipvalue_clips_each_component(dtype, rng):
    g = (rng.standard_normal(200) * 3).astype(dtype)
    clipped = g.copy()
    clip_gradients(clipped, 0.0, 1.5)
    np.testing.assert_array_equal(clipped, np.clip(g, -1.5, 1.5))


def test_value_then_norm_keeps_both_bounds(rng):
    g = rng.standard_normal(100) * 5
    clipped = g.copy()
    clip_gradients(clipped, 2.0, 0.5)
    expected = np.clip(g, -0.5, 0.5)
    expected *= 2.0 / np.linalg.norm(expected)
    np.testing.assert_allclose(clipped, expected, rtol=1e-14)
    assert np.abs(clipped).max() <= 0.5 and np.linalg.norm(clipped) == pytest.approx(2.0)


@pytest.mark.parametrize("make, clip", [
    (lambda: fn.SGD(1.0, clipnorm=0.1), lambda g: g * min(1.0, 0.1 / np.linalg.norm(g))),
    (lambda: fn.SGD(1.0, clipvalue=0.05), lambda g: np.clip(g, -0.05, 0.05)),
])
def test_optimizer_step_applies_the_clipped_gradient(make, clip, rng):
    opt = make()
    params = rng.standard_normal(30)
    grads = rng.standard_normal(30)
    expected = params - clip(grads)
    opt.step(params, grads.copy(), opt.initial_state(30, np.float64), 0)
    np.testing.assert_allclose(params, expected, rtol=1e-14)


@pytest.mark.parametrize("optimizer, clip", [
    (fn.SGD(0.5, clipnorm=0.05), lambda g: g * min(1.0, 0.05 / np.linalg.norm(g))),
    (fn.SGD(0.5, clipvalue=0.01), lambda g: np.clip(g, -0.01, 0.01)),
])
def test_fit_clips_inside_the_compiled_loop(optimizer, clip, rng):
    X = rng.standard_normal((16, 3))
    y = rng.standard_normal(16) * 10
    model = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1)], input_dim=3, seed=0,
                          dtype="float64")
    model.compile(optimizer=optimizer, loss="mse")
    full = model.compute_gradients(X, y)
    assert np.linalg.norm(full) > 0.05 and np.abs(full).max() > 0.01  # clipping does bite
    before = model.params.copy()
    model.fit(X, y, epochs=1, batch_size=None)  # one update on the whole set
    np.testing.assert_allclose(model.params, before - 0.5 * clip(full), rtol=1e-12, atol=1e-15)


def test_clipnorm_matches_torch_clip_grad_norm_direction(rng):
    torch = pytest.importorskip("torch")
    g = rng.standard_normal(64) * 4
    clipped = g.copy()
    clip_gradients(clipped, 1.0, 0.0)
    t = torch.from_numpy(g.copy()).requires_grad_()
    t.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_norm_([t], 1.0)
    # torch divides by (norm + 1e-6); fastnn by the norm, so the global norm is exactly c
    np.testing.assert_allclose(clipped, t.grad.numpy(), rtol=1e-6)
