"""Rosenblatt's perceptron rule, one sample at a time.

For sample x with label y in {0, 1}: y_hat = step(w . x + b) with step(z) = [z >= 0], then

    w <- w + eta (y - y_hat) x,    b <- b + eta (y - y_hat)

which changes the weights only on a mistake.
"""

from ._jit import kernel


@kernel
def perceptron_epoch(X, y, order, w, b, eta):
    """One pass over the samples in ``order``, updating w and b (length-1 array) in place;
    returns the number of mistakes."""
    mistakes = 0
    n_features = X.shape[1]
    for r in range(order.shape[0]):
        i = order[r]
        z = b[0]
        for j in range(n_features):
            z += w[j] * X[i, j]
        error = y[i] - (1.0 if z >= 0.0 else 0.0)
        if error != 0.0:
            mistakes += 1
            for j in range(n_features):
                w[j] += eta * error * X[i, j]
            b[0] += eta * error
    return mistakes
