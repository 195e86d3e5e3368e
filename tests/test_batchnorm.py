"""BatchNormalization against torch.nn.BatchNorm1d, its inference form, and batches of one."""

import numpy as np
import pytest

import fastnn as fn
from training_mode import training_forward

torch = pytest.importorskip("torch")


def _bn_net(dtype, center=True, scale=True, momentum=0.99, seed=0, rng=None):
    model = fn.Sequential([fn.Dense(5), fn.BatchNormalization(momentum, center=center,
                                                              scale=scale), fn.Dense(2)],
                          input_dim=4, seed=seed, dtype=dtype)
    bn = model.layers[1]
    if scale:
        bn.gamma[:] = 1 + 0.3 * rng.standard_normal(5)
    if center:
        bn.beta[:] = 0.2 * rng.standard_normal(5)
    model.compile(optimizer=fn.SGD(0.05), loss="mse")
    return model


def _torch_twin(model, tdtype):
    dense0, bn, dense1 = model.layers
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(
        5, eps=bn.epsilon, momentum=1 - bn.momentum), torch.nn.Linear(5, 2)).to(tdtype)
    with torch.no_grad():
        for linear, dense in ((net[0], dense0), (net[2], dense1)):
            linear.weight.copy_(torch.from_numpy(dense.kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(dense.bias.copy()))
        net[1].weight.copy_(torch.from_numpy(bn.gamma.copy()) if bn.scale else 1.0)
        net[1].bias.copy_(torch.from_numpy(bn.beta.copy()) if bn.center else 0.0)
    net[1].weight.requires_grad_(bn.scale)
    net[1].bias.requires_grad_(bn.center)
    return net


def _torch_flat(net, bn, what):
    """Weights (``what`` = "data") or gradients ("grad") in fastnn's flat layout."""
    parts = [getattr(net[0].weight, what).T, getattr(net[0].bias, what)]
    parts += [getattr(net[1].weight, what)] if bn.scale else []
    parts += [getattr(net[1].bias, what)] if bn.center else []
    parts += [getattr(net[2].weight, what).T, getattr(net[2].bias, what)]
    return np.concatenate([p.detach().numpy().reshape(-1) for p in parts])


@pytest.mark.parametrize("center, scale, momentum", [
    (True, True, 0.99), (False, True, 0.9), (True, False, 0.5), (False, False, 0.99)])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-9), ("float32", 2e-4)])
def test_training_forward_backward_running_stats_and_inference_equal_torch(
        center, scale, momentum, dtype, tol, rng):
    X = 3.0 + 2.0 * rng.standard_normal((24, 4))
    y = rng.standard_normal((24, 2))
    model = _bn_net(dtype, center, scale, momentum, rng=rng)
    bn = model.layers[1]
    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = _torch_twin(model, tdtype)
    tx, ty = torch.from_numpy(X.astype(dtype)), torch.from_numpy(y.astype(dtype))

    # One batch in training mode: the output and every gradient (dx through the BN included).
    net.train()
    out = net(tx[:8])
    loss = torch.nn.functional.mse_loss(out, ty[:8])
    loss.backward()
    np.testing.assert_allclose(training_forward(model, X[:8]), out.detach().numpy(), rtol=tol,
                               atol=tol)
    ours_loss, grads = model.compute_gradients(X[:8], y[:8], return_loss=True)
    assert ours_loss == pytest.approx(loss.item(), rel=tol)
    np.testing.assert_allclose(grads, _torch_flat(net, bn, "grad"), rtol=tol, atol=tol)

    # Three SGD steps over batches of 8: parameters and running statistics.
    net[1].reset_running_stats()
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.05)
    for start in range(0, 24, 8):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(tx[start:start + 8]), ty[start:start + 8]).backward()
        opt.step()
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False)
    np.testing.assert_allclose(model.params, _torch_flat(net, bn, "data"), rtol=tol, atol=tol)
    np.testing.assert_allclose(bn.moving_mean, net[1].running_mean.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(bn.moving_variance, net[1].running_var.numpy(), rtol=tol,
                               atol=tol)

    # Inference: the running statistics.
    net.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model.predict(X), net(tx).numpy(), rtol=tol, atol=tol)


def test_inference_uses_the_running_statistics_and_training_the_batch_ones(rng):
    model = fn.Sequential([fn.BatchNormalization(epsilon=0.01)], input_dim=3, dtype="float64")
    bn = model.layers[0]
    bn.gamma[:], bn.beta[:] = [1.5, 0.5, -1.0], [0.1, 0.2, 0.3]
    bn.moving_mean[:], bn.moving_variance[:] = [1.0, -2.0, 0.5], [4.0, 0.25, 1.0]
    X = rng.standard_normal((6, 3)) * 3 + 1
    expected = bn.gamma * (X - bn.moving_mean) / np.sqrt(bn.moving_variance + 0.01) + bn.beta
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-12)
    batch = bn.gamma * (X - X.mean(0)) / np.sqrt(X.var(0) + 0.01) + bn.beta
    np.testing.assert_allclose(training_forward(model, X), batch, rtol=1e-12)


def test_only_fit_changes_the_running_statistics(rng):
    X, y = rng.standard_normal((10, 4)) + 2, rng.standard_normal((10, 2))
    model = _bn_net("float64", rng=rng)
    state = model.state.copy()
    np.testing.assert_array_equal(state, [0] * 5 + [1] * 5)
    model.compute_gradients(X, y)
    model.predict(X)
    model.evaluate(X, y)
    np.testing.assert_array_equal(model.state, state)
    model.fit(X, y, epochs=1, batch_size=5)
    assert np.all(model.state != state)


def test_a_batch_of_one_gives_beta_no_nan_and_keeps_the_running_variance(rng):
    X, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    model = _bn_net("float64", rng=rng)
    bn = model.layers[1]
    alone = fn.Sequential([fn.BatchNormalization()], input_dim=3, dtype="float64")
    alone.layers[0].beta[:] = [0.5, -1.0, 2.0]
    np.testing.assert_array_equal(training_forward(alone, X[:1, :3]), [[0.5, -1.0, 2.0]])

    grads = model.compute_gradients(X[:1], y[:1])
    assert np.all(np.isfinite(grads))
    np.testing.assert_array_equal(grads[:4 * 5 + 5 + 5], 0.0)  # Dense before BN, and gamma

    hidden = X @ model.layers[0].kernel + model.layers[0].bias  # unchanged: its gradient is 0
    model.fit(X, y, epochs=1, batch_size=1, shuffle=False)
    assert np.all(np.isfinite(model.params)) and np.all(np.isfinite(model.state))
    np.testing.assert_array_equal(bn.moving_variance, 1.0)
    expected_mean = np.zeros(5)
    for row in hidden:
        expected_mean = 0.99 * expected_mean + 0.01 * row
    np.testing.assert_allclose(bn.moving_mean, expected_mean, rtol=1e-12)
