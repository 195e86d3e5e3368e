"""Learning-rate schedules: each formula at chosen updates, through the compiled loop of ``fit``,
the cyclic windows' base and peak, and torch's CyclicLR and OneCycleLR."""

import json
import math

import numpy as np
import pytest

import fastnn as fn
from fastnn import schedules

STEPS = [0, 1, 2, 3, 5, 7, 10, 11, 19, 20, 29, 35, 60]


def _smith(t, base, top, s, mode="triangular", gamma=1.0, window="triangular"):
    cycle = math.floor(1 + t / (2 * s))
    x = abs(t / s - 2 * cycle + 1)
    w = {"triangular": 1 - x, "welch": 1 - x ** 2, "hann": (1 + math.cos(math.pi * x)) / 2}
    scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma ** t}
    return base + (top - base) * max(0.0, w[window]) * scale[mode]


def _keras_cosine(t, lr0, decay_steps, alpha=0.0, target=None, warmup=0):
    target = lr0 if target is None else target
    if t < warmup:
        return lr0 + (target - lr0) * t / warmup
    s = min(t - warmup, decay_steps)
    return target * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s / decay_steps)) + alpha)


# schedule, steps per epoch, the formula as a function of update t (0-based) and epoch e
# (1-based, e = t // steps_per_epoch + 1)
FORMULAS = [
    ("constant", schedules.Constant(0.05), 1, lambda t, e: 0.05),
    ("time-based", schedules.TimeBasedDecay(0.1, 0.05), 1, lambda t, e: 0.1 / (1 + 0.05 * t)),
    ("exponential", schedules.ExponentialDecay(0.1, 0.02), 1,
     lambda t, e: 0.1 * math.exp(-0.02 * t)),
    ("step", schedules.StepDecay(0.1, factor=0.5, every=2), 3,
     lambda t, e: 0.1 * 0.5 ** ((e - 1) // 2)),
    ("inverse-time", schedules.InverseTimeDecay(0.2, decay_rate=1.0), 5,
     lambda t, e: 0.2 / (1 + e)),
    ("cyclic", schedules.CyclicLR(0.001, 0.006, step_size=4), 1,
     lambda t, e: _smith(t, 0.001, 0.006, 4)),
    ("cyclic-triangular2-welch",
     schedules.CyclicLR(0.001, 0.006, step_size=5, mode="triangular2", shape="welch"), 1,
     lambda t, e: _smith(t, 0.001, 0.006, 5, "triangular2", window="welch")),
    ("cyclic-exp-range-hann",
     schedules.CyclicLR(0.01, 0.1, step_size=3, mode="exp_range", gamma=0.99, shape="hann"), 1,
     lambda t, e: _smith(t, 0.01, 0.1, 3, "exp_range", 0.99, "hann")),
    ("cosine", schedules.CosineDecay(0.1, decay_steps=20, alpha=0.1), 1,
     lambda t, e: _keras_cosine(t, 0.1, 20, alpha=0.1)),
    ("cosine-warmup", schedules.CosineDecay(0.01, 20, warmup_target=0.1, warmup_steps=6), 1,
     lambda t, e: _keras_cosine(t, 0.01, 20, target=0.1, warmup=6)),
    ("one-cycle", schedules.OneCycle(0.1, total_steps=30), 1,
     lambda t, e: _one_cycle(t, 0.1, 30)),
    ("one-cycle-linear", schedules.OneCycle(0.1, 40, pct_start=0.25, anneal_strategy="linear"),
     1, lambda t, e: _one_cycle(t, 0.1, 40, 0.25, linear=True)),
]
IDS = [row[0] for row in FORMULAS]


def _one_cycle(t, top, total, pct=0.3, div=25.0, final_div=1e4, linear=False):
    def anneal(a, b, p):
        return a + (b - a) * p if linear else b + (a - b) / 2 * (math.cos(math.pi * p) + 1)
    start, bottom, end_1 = top / div, top / div / final_div, pct * total - 1
    if t <= end_1:
        return anneal(start, top, t / end_1)
    return anneal(top, bottom, min(1.0, (t - end_1) / (total - 1 - end_1)))


@pytest.mark.parametrize("name, schedule, steps_per_epoch, formula", FORMULAS, ids=IDS)
def test_schedule_reproduces_its_formula(name, schedule, steps_per_epoch, formula):
    for t in STEPS:
        expected = formula(t, t // steps_per_epoch + 1)
        assert schedule(t, steps_per_epoch) == pytest.approx(expected, rel=1e-12), t


def _tiny_model(optimizer, dtype="float32"):
    model = fn.Sequential([fn.Dense(1)], input_dim=2, seed=0, dtype=dtype)
    return model.compile(optimizer=optimizer, loss="mse")


@pytest.mark.parametrize("name, schedule, steps_per_epoch, formula", FORMULAS, ids=IDS)
def test_fit_records_the_scheduled_rate_of_each_epochs_last_update(name, schedule,
                                                                   steps_per_epoch, formula,
                                                                   rng):
    epochs = 7
    X = rng.standard_normal((4 * steps_per_epoch, 2)) * 0.1
    model = _tiny_model(fn.SGD(learning_rate=schedule))
    history = model.fit(X, np.zeros(len(X)), epochs=epochs, batch_size=4)
    last = [(e + 1) * steps_per_epoch - 1 for e in range(epochs)]
    assert history.history["lr"] == [schedule(t, steps_per_epoch) for t in last]
    assert history.history["lr"] == pytest.approx([formula(t, t // steps_per_epoch + 1)
                                                   for t in last], rel=1e-12)


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_inverse_time_decay_table_through_fit(batch_size, rng):
    # lr0 = 0.2, decay 1: epochs 1..4 run at 0.1, 0.0667, 0.05, 0.04, whatever the batch size
    X = rng.standard_normal((10, 2)) * 0.1
    model = _tiny_model(fn.SGD(learning_rate=schedules.InverseTimeDecay(0.2, decay_rate=1)),
                        dtype="float64")
    history = model.fit(X, np.zeros(10), epochs=4, batch_size=batch_size)
    assert [round(lr, 4) for lr in history.history["lr"]] == [0.1, 0.0667, 0.05, 0.04]
    assert history.history["lr"] == pytest.approx([0.1, 0.2 / 3, 0.05, 0.04], rel=1e-15)


def test_inverse_time_decay_applies_each_epochs_rate_to_every_update_of_it():
    # one weight, zero input, mse towards y = 1: the bias moves by lr * 2 * (1 - b) each update,
    # so the rate of every update can be read back from the bias
    model = fn.Sequential([fn.Dense(1, kernel_initializer="zeros")], input_dim=1, seed=0,
                          dtype="float64")
    model.compile(optimizer=fn.SGD(learning_rate=schedules.InverseTimeDecay(0.2)), loss="mse")
    biases = [0.0]
    for _ in range(2):
        model.fit(np.zeros((2, 1)), np.ones(2), epochs=1, batch_size=1, shuffle=False)
        biases.append(float(model.layers[0].bias[0]))
    # epoch 1 (two updates at 0.1): b = 1 - (1 - 0.2)^2; epoch 2: rate 0.2/3
    assert biases[1] == pytest.approx(1 - 0.8 ** 2)
    assert biases[2] == pytest.approx(1 - (1 - biases[1]) * (1 - 0.4 / 3) ** 2)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("shape", ["triangular", "welch", "hann"])
def test_cyclic_windows_hit_base_and_peak_at_the_right_updates(mode, shape):
    base, top, s, gamma = 0.001, 0.006, 12, 0.995
    clr = schedules.CyclicLR(base, top, step_size=s, mode=mode, gamma=gamma, shape=shape)
    rates = np.array([clr(t) for t in range(6 * s + 1)])
    scale = {"triangular": lambda t: 1.0, "triangular2": lambda t: 0.5 ** (t // (2 * s)),
             "exp_range": lambda t: gamma ** t}[mode]
    for k in range(3):
        assert rates[2 * k * s] == pytest.approx(base, rel=1e-12)  # each cycle starts at base
        peak = (2 * k + 1) * s
        assert rates[peak] == pytest.approx(base + (top - base) * scale(peak), rel=1e-12)
        cycle = rates[2 * k * s:2 * (k + 1) * s + 1]
        assert cycle.argmax() == s and cycle.min() == pytest.approx(base, rel=1e-12)
    assert rates.max() == rates[s] and rates.min() >= base  # max_lr, scaled, at t = s
    # the window a quarter and half way up the first cycle
    window = {"triangular": (0.25, 0.5), "welch": (0.4375, 0.75),
              "hann": ((1 - math.cos(math.pi / 4)) / 2, 0.5)}[shape]
    for t, w in zip((s // 4, s // 2), window):
        assert (rates[t] - base) / (top - base) == pytest.approx(w * scale(t), rel=1e-10)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_matches_torch_cyclic_lr(mode):
    torch = pytest.importorskip("torch")
    clr = schedules.CyclicLR(0.001, 0.01, step_size=7, mode=mode, gamma=0.98)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.001)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, 0.001, 0.01, step_size_up=7, mode=mode,
                                              gamma=0.98, cycle_momentum=False)
    for t in range(60):
        assert clr(t) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), t
        opt.step()
        sched.step()


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_matches_torch_one_cycle_lr(strategy):
    torch = pytest.importorskip("torch")
    one = schedules.OneCycle(0.05, total_steps=50, pct_start=0.3, anneal_strategy=strategy)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.05, total_steps=50, pct_start=0.3,
                                                anneal_strategy=strategy,
                                                cycle_momentum=False)
    for t in range(50):
        assert one(t) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), t
        opt.step()
        sched.step()
    assert one(49) == one(500) == pytest.approx(0.05 / 25 / 1e4)


def test_optimizer_decay_composes_with_a_schedule(rng):
    step = schedules.StepDecay(0.1, factor=0.5, every=1)
    model = _tiny_model(fn.SGD(learning_rate=step, decay=0.1))
    X = rng.standard_normal((8, 2)) * 0.1
    history = model.fit(X, np.zeros(8), epochs=3, batch_size=4)
    expected = [step(t, 2) / (1 + 0.1 * t) for t in (1, 3, 5)]
    assert history.history["lr"] == pytest.approx(expected, rel=1e-12)


def test_plain_decay_is_time_based(rng):
    model = _tiny_model(fn.SGD(lr=0.1, decay=0.001))
    X = rng.standard_normal((10, 2)) * 0.1
    history = model.fit(X, np.zeros(10), epochs=2, batch_size=1)
    assert history.history["lr"] == pytest.approx([0.1 / (1 + 0.001 * 9),
                                                   0.1 / (1 + 0.001 * 19)], rel=1e-12)


@pytest.mark.parametrize("name, schedule, steps_per_epoch, formula", FORMULAS, ids=IDS)
def test_config_round_trips_through_json(name, schedule, steps_per_epoch, formula):
    config = schedule.get_config()
    again = schedules.get(json.loads(json.dumps(config)))
    assert type(again) is type(schedule) and again.get_config() == config
    np.testing.assert_array_equal(again.spec(), schedule.spec())


@pytest.mark.parametrize("make, argument", [
    (lambda: schedules.Constant(0.0), "learning_rate"),
    (lambda: schedules.TimeBasedDecay(-0.1, 0.01), "initial_learning_rate"),
    (lambda: schedules.TimeBasedDecay(0.1, -0.01), "decay_rate"),
    (lambda: schedules.ExponentialDecay(0.1, float("inf")), "k"),
    (lambda: schedules.StepDecay(0.1, factor=1.5), "factor"),
    (lambda: schedules.StepDecay(0.1, every=2.5), "every"),
    (lambda: schedules.StepDecay(0.1, every=0), "every"),
    (lambda: schedules.InverseTimeDecay(0.2, decay_rate=-1), "decay_rate"),
    (lambda: schedules.CyclicLR(0.01, 0.001), "max_lr"),
    (lambda: schedules.CyclicLR(step_size=0), "step_size"),
    (lambda: schedules.CyclicLR(mode="triangle"), "mode"),
    (lambda: schedules.CyclicLR(shape="gauss"), "shape"),
    (lambda: schedules.CyclicLR(mode="exp_range", gamma=1.5), "gamma"),
    (lambda: schedules.CosineDecay(0.1, decay_steps=0), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=2.0), "alpha"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=-3), "warmup_steps"),
    (lambda: schedules.OneCycle(0.1, total_steps=100, pct_start=1.0), "pct_start"),
    (lambda: schedules.OneCycle(0.1, total_steps=3), "total_steps"),
    (lambda: schedules.OneCycle(0.1, 100, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: schedules.get({"name": "warm_restarts"}), "warm_restarts"),
    (lambda: schedules.Constant(0.1)(-1), "step"),
    (lambda: schedules.Constant(0.1)(3, steps_per_epoch=0), "steps_per_epoch"),
])
def test_bad_settings_raise_value_error_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


@pytest.mark.parametrize("alias, name", [("time", "time_based_decay"), ("step", "step_decay"),
                                         ("exp", "exponential_decay"), ("cosine", "cosine_decay")])
def test_short_names(alias, name):
    assert fn.schedules.canonical_name(alias) == name
    with pytest.raises(ValueError, match="choose one of"):
        fn.schedules.canonical_name("warp")
