"""Draw docs/img/diagnostics.png: a vanishing-gradient network beside a healthy one.

Two 10-layer networks (9 hidden layers of 16 units and a sigmoid output) learn the same
synthetic binary task with SGD (learning rate 0.1, batch 32) under a GradientMonitor:

    vanishing   sigmoid hidden layers, weights drawn from N(0, 0.1^2)
    healthy     ReLU hidden layers, He-normal weights

Panels: the gradient norm of every layer in the last epoch; the first and last layers' gradient
norms epoch by epoch; the training loss (raw and smoothed with fastnn.ewma). Needs matplotlib
(the ``plot`` extra). Run from the repository root:

    python scripts/plot_diagnostics.py [--out docs/img/diagnostics.png] [--epochs 40]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastnn as fn  # noqa: E402

NETWORKS = {
    "sigmoid, N(0, 0.1²) init": ("sigmoid", {"name": "random_normal", "stddev": 0.1}),
    "ReLU, He init": ("relu", "he_normal"),
}


def data(n=2000, d=8, seed=0):
    """A learnable task: labels from a fixed random tanh 'teacher' network."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    hidden = np.tanh(X @ rng.standard_normal((d, 16)))
    return X, (hidden @ rng.standard_normal(16) > 0).astype(float)


def train(activation, init, X, y, epochs):
    layers = [fn.Dense(16, activation=activation, kernel_initializer=init) for _ in range(9)]
    model = fn.Sequential(layers + [fn.Dense(1, activation="sigmoid")], input_dim=X.shape[1],
                          seed=0)
    model.compile(optimizer=fn.SGD(learning_rate=0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(X, y, epochs=epochs, batch_size=32, callbacks=[fn.GradientMonitor()])
    return history


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("docs", "img", "diagnostics.png"))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = data()
    runs = {label: train(act, init, X, y, args.epochs) for label, (act, init) in NETWORKS.items()}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = dict(zip(runs, ("tab:red", "tab:blue")))
    for label, history in runs.items():
        d = history.diagnostics
        grads = d["grad_norm"]
        epochs = np.arange(1, grads.shape[0] + 1)
        flags = sorted({f.kind for f in d.flags}) or ["no flag"]
        name = f"{label} ({', '.join(flags)})"
        axes[0].semilogy(np.arange(1, grads.shape[1] + 1), grads[-1], "o-", color=colors[label],
                         label=name)
        axes[1].semilogy(epochs, grads[:, 0], "-", color=colors[label],
                         label=f"{label}: layer 1")
        axes[1].semilogy(epochs, grads[:, -1], "--", color=colors[label],
                         label=f"{label}: layer 10")
        loss = np.array(history.history["loss"])
        axes[2].plot(epochs, loss, color=colors[label], alpha=0.3)
        axes[2].plot(epochs, fn.ewma(loss, 0.8), color=colors[label],
                     label=f"{label}: final accuracy {history.history['accuracy'][-1]:.2f}")
    axes[0].set(title=f"Gradient norm per layer, epoch {args.epochs}", xlabel="layer",
                ylabel="mean batch gradient L2 norm")
    axes[0].set_xticks(range(1, 11))
    axes[1].set(title="First and last layer, by epoch", xlabel="epoch",
                ylabel="mean batch gradient L2 norm")
    axes[2].set(title="Training loss (faint: raw, solid: ewma 0.8)", xlabel="epoch",
                ylabel="binary cross-entropy")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=110)
    for label, history in runs.items():
        print(f"== {label}")
        print(history.diagnostics.report())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
