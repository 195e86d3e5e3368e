"""Gradients and one SGD step of a 3-layer MLP against PyTorch with the same weights."""

import numpy as np
import pytest

import fastnn as fn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-10), ("float32", 2e-5)])
@pytest.mark.parametrize("batch_size", [8, 3])
def test_three_layer_mlp_gradients_and_sgd_step(dtype, tol, batch_size, rng):
    X = rng.standard_normal((8, 5))
    y = rng.integers(0, 2, 8)
    model = fn.Sequential([fn.Dense(6, activation="relu"), fn.Dense(4, activation="tanh"),
                           fn.Dense(1, activation="sigmoid")], input_dim=5, seed=7, dtype=dtype)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="binary_crossentropy")

    tdtype = torch.float64 if dtype == "float64" else torch.float32
    net = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 4),
                              torch.nn.Tanh(), torch.nn.Linear(4, 1)).to(tdtype)
    with torch.no_grad():
        for linear, dense in zip([net[0], net[2], net[4]], model.layers):
            linear.weight.copy_(torch.from_numpy(dense.kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(dense.bias.copy()))

    def torch_grads(xb, yb):
        net.zero_grad()
        logits = net(torch.from_numpy(xb.astype(dtype)))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.from_numpy(yb.astype(dtype)).reshape(-1, 1))
        loss.backward()
        return loss.item()

    torch_grads(X, y)
    expected = np.concatenate([np.concatenate([lin.weight.grad.T.reshape(-1), lin.bias.grad])
                               for lin in (net[0], net[2], net[4])])
    np.testing.assert_allclose(model.compute_gradients(X, y), expected, rtol=tol, atol=tol)

    # One epoch without shuffling: the same batches, plain SGD, in both.
    model.fit(X, y, epochs=1, batch_size=batch_size, shuffle=False)
    sgd = torch.optim.SGD(net.parameters(), lr=0.1)
    for start in range(0, 8, batch_size):
        torch_grads(X[start:start + batch_size], y[start:start + batch_size])
        sgd.step()
    for linear, dense in zip([net[0], net[2], net[4]], model.layers):
        np.testing.assert_allclose(dense.kernel, linear.weight.detach().numpy().T, rtol=tol,
                                   atol=tol)
        np.testing.assert_allclose(dense.bias, linear.bias.detach().numpy(), rtol=tol, atol=tol)
