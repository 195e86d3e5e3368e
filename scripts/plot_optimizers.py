"""Draw the figures of docs/optimizers.md and docs/schedules.md.

    python scripts/plot_optimizers.py [--out docs/img]

writes ``optimizers.png`` (each optimizer's path on an elongated bowl, made with the same
fused kernels ``fit`` uses, and the training loss of one small network under each optimizer at
its default settings) and ``schedules.png`` (the rate of every update under each schedule).
Needs matplotlib (``pip install fastnn[plot]``).
"""

import argparse
import os
import sys

import numpy as np

# the fastnn of this checkout, even where another copy is installed
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import fastnn as fn  # noqa: E402
from fastnn import schedules  # noqa: E402

# f(x, y) = x^2 / 20 + y^2: a valley 4.5 times longer than it is wide, started at (-7, 2).
BOWL_START = (-7.0, 2.0)
BOWL_STEPS = 40
# (name, label, optimizer) for the paths; rates chosen so that each moves visibly in 40 steps
PATH_OPTIMIZERS = [
    ("sgd", "SGD lr 0.9", fn.SGD(0.9)),
    ("momentum", "momentum 0.9, lr 0.1", fn.SGD(0.1, momentum=0.9)),
    ("nesterov", "Nesterov 0.9, lr 0.1", fn.SGD(0.1, momentum=0.9, nesterov=True)),
    ("adagrad", "Adagrad lr 1.5", fn.Adagrad(1.5)),
    ("adadelta", "Adadelta lr 10", fn.Adadelta(10.0)),
    ("rmsprop", "RMSprop lr 0.3", fn.RMSprop(0.3)),
    ("adam", "Adam lr 0.3", fn.Adam(0.3)),
    ("nadam", "Nadam lr 0.3", fn.Nadam(0.3)),
]
LOSS_OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam",
                   "adamw", "nadam"]
SCHEDULES = [
    ("time-based 0.01/(1+0.02t)", schedules.TimeBasedDecay(0.01, 0.02)),
    ("exponential 0.01 exp(-0.01t)", schedules.ExponentialDecay(0.01, 0.01)),
    ("step x0.5 every 2 epochs", schedules.StepDecay(0.01, factor=0.5, every=2)),
    ("inverse time per epoch", schedules.InverseTimeDecay(0.01, 1.0)),
    ("cyclic triangular", schedules.CyclicLR(0.001, 0.006, step_size=25)),
    ("cyclic triangular2, Hann", schedules.CyclicLR(0.001, 0.006, 25, "triangular2",
                                                    shape="hann")),
    ("cosine, warm-up 20", schedules.CosineDecay(0.001, 180, warmup_target=0.01,
                                                 warmup_steps=20)),
    ("one-cycle", schedules.OneCycle(0.01, total_steps=200)),
]
SCHEDULE_STEPS, SCHEDULE_STEPS_PER_EPOCH = 200, 20


def bowl_path(optimizer):
    """The points visited by ``optimizer`` on f(x, y) = x^2 / 20 + y^2."""
    params = np.array(BOWL_START)
    state = optimizer.initial_state(2, np.float64)
    path = [params.copy()]
    for t in range(BOWL_STEPS):
        grads = np.array([params[0] / 10.0, 2.0 * params[1]])
        optimizer.step(params, grads, state, t)
        path.append(params.copy())
    return np.array(path)


def two_moons(n=200, seed=0):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.where(label == 0, np.cos(angle), 1 - np.cos(angle))
    y = np.where(label == 0, np.sin(angle), 0.5 - np.sin(angle))
    return np.column_stack([x, y]) + rng.normal(0, 0.1, (n, 2)), label


def loss_curve(name, X, y, epochs=60):
    model = fn.Sequential([fn.Dense(16, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=2, seed=0)
    model.compile(optimizer=name, loss="binary_crossentropy")
    return model.fit(X, y, epochs=epochs, batch_size=16).history["loss"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("docs", "img"),
                        help="folder for the PNG files (default docs/img)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    fig = plt.figure(figsize=(11, 5.2))
    grid = fig.add_gridspec(4, 4)
    xs, ys = np.meshgrid(np.linspace(-8, 3, 160), np.linspace(-2.5, 2.5, 80))
    for k, (name, label, optimizer) in enumerate(PATH_OPTIMIZERS):
        ax = fig.add_subplot(grid[k // 2, k % 2])
        ax.contour(xs, ys, xs ** 2 / 20 + ys ** 2, levels=10, colors="0.8", linewidths=0.6)
        path = bowl_path(optimizer)
        color = f"C{LOSS_OPTIMIZERS.index(name)}"  # as in the loss panel
        ax.plot(path[:, 0], path[:, 1], ".-", color=color, ms=2.5, lw=0.9)
        ax.plot([0], [0], "k+", ms=8)
        ax.set(xlim=(-8, 3), ylim=(-2.5, 2.5), xticks=[], yticks=[], aspect="equal")
        ax.set_title(label, fontsize=8)
    fig.text(0.02, 0.5, f"{BOWL_STEPS} steps on x\u00b2/20 + y\u00b2 from (-7, 2)",
             rotation=90, va="center", fontsize=8)
    right = fig.add_subplot(grid[:, 2:])

    X, y = two_moons()
    for name in LOSS_OPTIMIZERS:
        right.plot(loss_curve(name, X, y), lw=1.2, label=name)
    right.set(title="two moons, 2-16-1 net, batch 16, defaults", xlabel="epoch",
              ylabel="training loss (BCE)", yscale="log")
    right.legend(fontsize=7, ncol=2, loc="upper right")
    fig.tight_layout(rect=(0.025, 0, 1, 1))
    fig.savefig(os.path.join(args.out, "optimizers.png"), dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3.6))
    for label, schedule in SCHEDULES:
        rates = [schedule(t, SCHEDULE_STEPS_PER_EPOCH) for t in range(SCHEDULE_STEPS)]
        ax.plot(rates, lw=1.2, label=label)
    ax.set(title=f"learning rate of each update ({SCHEDULE_STEPS_PER_EPOCH} updates an epoch)",
           xlabel="update t", ylabel="learning rate")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "schedules.png"), dpi=80)
    plt.close(fig)
    print(f"wrote {args.out}/optimizers.png and {args.out}/schedules.png")


if __name__ == "__main__":
    main()
