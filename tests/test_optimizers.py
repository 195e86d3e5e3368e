"""Optimizers against torch.optim: 20 fused steps in float64, one fit epoch in float32, and
their names, defaults, configs and errors."""

import json

import numpy as np
import pytest

import fastnn as fn
from fastnn import optimizers, schedules

torch = pytest.importorskip("torch")

# id, fastnn optimizer, torch.optim class, its arguments, torch scheduler (or None) stepped
# after every update. Every optimizer appears with at least two settings of its options.
CASES = [
    ("sgd", lambda: fn.SGD(0.1), "SGD", dict(lr=0.1), None),
    ("sgd-momentum", lambda: fn.SGD(0.1, momentum=0.9), "SGD", dict(lr=0.1, momentum=0.9),
     None),
    ("sgd-nesterov-wd", lambda: fn.SGD(0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
     "SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01), None),
    ("adagrad", lambda: fn.Adagrad(0.1), "Adagrad",
     dict(lr=0.1, initial_accumulator_value=0.1, eps=1e-7), None),
    ("adagrad-wd", lambda: fn.Adagrad(0.05, initial_accumulator_value=0.0, epsilon=1e-10,
                                      weight_decay=0.1), "Adagrad",
     dict(lr=0.05, initial_accumulator_value=0.0, eps=1e-10, weight_decay=0.1), None),
    ("adadelta", lambda: fn.Adadelta(), "Adadelta", dict(lr=1.0, rho=0.95, eps=1e-6), None),
    ("adadelta-wd", lambda: fn.Adadelta(0.5, rho=0.9, epsilon=1e-5, weight_decay=0.05),
     "Adadelta", dict(lr=0.5, rho=0.9, eps=1e-5, weight_decay=0.05), None),
    ("rmsprop", lambda: fn.RMSprop(0.01), "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-7), None),
    ("rmsprop-momentum", lambda: fn.RMSprop(0.01, momentum=0.9), "RMSprop",
     dict(lr=0.01, alpha=0.9, eps=1e-7, momentum=0.9), None),
    ("rmsprop-centered", lambda: fn.RMSprop(0.01, centered=True), "RMSprop",
     dict(lr=0.01, alpha=0.9, eps=1e-7, centered=True), None),
    ("rmsprop-centered-momentum-wd",
     lambda: fn.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True, weight_decay=0.01),
     "RMSprop", dict(lr=0.01, alpha=0.8, eps=1e-7, momentum=0.5, centered=True,
                     weight_decay=0.01), None),
    ("adam", lambda: fn.Adam(0.01), "Adam", dict(lr=0.01, eps=1e-7), None),
    ("adam-amsgrad", lambda: fn.Adam(0.01, amsgrad=True), "Adam",
     dict(lr=0.01, eps=1e-7, amsgrad=True), None),
    ("adam-wd", lambda: fn.Adam(0.01, beta_1=0.8, beta_2=0.99, weight_decay=0.1), "Adam",
     dict(lr=0.01, betas=(0.8, 0.99), eps=1e-7, weight_decay=0.1), None),
    ("adamw", lambda: fn.AdamW(0.01), "AdamW", dict(lr=0.01, eps=1e-7, weight_decay=0.004),
     None),
    ("adamw-amsgrad", lambda: fn.AdamW(0.01, weight_decay=0.1, amsgrad=True), "AdamW",
     dict(lr=0.01, eps=1e-7, weight_decay=0.1, amsgrad=True), None),
    ("nadam", lambda: fn.Nadam(0.01), "NAdam", dict(lr=0.01, eps=1e-7), None),
    ("nadam-wd", lambda: fn.Nadam(0.01, weight_decay=0.1), "NAdam",
     dict(lr=0.01, eps=1e-7, weight_decay=0.1), None),
    ("nadam-decoupled", lambda: fn.Nadam(0.01, weight_decay=0.1, decoupled_weight_decay=True),
     "NAdam", dict(lr=0.01, eps=1e-7, weight_decay=0.1, decoupled_weight_decay=True), None),
    # the time-based decay= and a schedule, against torch's schedulers stepped per update
    ("sgd-momentum-decay", lambda: fn.SGD(lr=0.1, momentum=0.9, decay=0.05), "SGD",
     dict(lr=0.1, momentum=0.9),
     lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 / (1 + 0.05 * k))),
    ("adamw-cyclic",
     lambda: fn.AdamW(schedules.CyclicLR(0.001, 0.01, step_size=4, mode="triangular2")),
     "AdamW", dict(lr=0.001, eps=1e-7, weight_decay=0.004),
     lambda opt: torch.optim.lr_scheduler.CyclicLR(opt, 0.001, 0.01, step_size_up=4,
                                                   mode="triangular2", cycle_momentum=False)),
]
IDS = [case[0] for case in CASES]


def _gradient_sequence(n, steps=20, seed=3):
    """Gradients of mixed magnitudes, some entries near epsilon, some large."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-6, 1, size=n)
    return [rng.standard_normal(n) * scales for _ in range(steps)]


def _torch_optimizer(params, torch_class, torch_kwargs, torch_scheduler):
    opt = getattr(torch.optim, torch_class)(params, **torch_kwargs)
    return opt, (torch_scheduler(opt) if torch_scheduler else None)


@pytest.fixture
def torch_float64():
    """torch keeps scalar state (NAdam's mu product) in the default dtype."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(saved)


@pytest.mark.parametrize("case_id, make, torch_class, torch_kwargs, torch_scheduler", CASES,
                         ids=IDS)
def test_twenty_steps_match_torch_in_float64(case_id, make, torch_class, torch_kwargs,
                                             torch_scheduler, torch_float64):
    n = 64
    w0 = np.random.default_rng(0).standard_normal(n)
    grads = _gradient_sequence(n)

    opt = make()
    params = w0.copy()
    state = opt.initial_state(n, np.float64)
    for t, g in enumerate(grads):
        opt.step(params, g.copy(), state, t)

    weight = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    topt, sched = _torch_optimizer([weight], torch_class, torch_kwargs, torch_scheduler)
    for g in grads:
        weight.grad = torch.from_numpy(g.copy())
        topt.step()
        if sched:
            sched.step()
    expected = weight.detach().numpy()
    assert np.max(np.abs(params - w0)) > 1e-4  # the steps did move the weights
    np.testing.assert_allclose(params, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("case_id, make, torch_class, torch_kwargs, torch_scheduler", CASES,
                         ids=IDS)
def test_one_fit_epoch_matches_a_torch_loop_in_float32(case_id, make, torch_class,
                                                       torch_kwargs, torch_scheduler):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((24, 5)).astype(np.float32)
    y = (X @ rng.standard_normal(5) + 0.5 * np.sin(3 * X[:, 0])).astype(np.float32)
    batch = 4
    model = fn.Sequential([fn.Dense(6, activation="tanh"), fn.Dense(1)], input_dim=5, seed=1)
    model.compile(optimizer=make(), loss="mse")

    net = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    with torch.no_grad():
        for linear, dense in zip([net[0], net[2]], model.layers):
            linear.weight.copy_(torch.from_numpy(dense.kernel.T.copy()))
            linear.bias.copy_(torch.from_numpy(dense.bias.copy()))
    topt, sched = _torch_optimizer(net.parameters(), torch_class, torch_kwargs, torch_scheduler)
    start_weights = model.params.copy()

    model.fit(X, y, epochs=1, batch_size=batch, shuffle=False)
    for start in range(0, len(X), batch):
        topt.zero_grad()
        out = net(torch.from_numpy(X[start:start + batch]))
        loss = torch.nn.functional.mse_loss(out[:, 0], torch.from_numpy(y[start:start + batch]))
        loss.backward()
        last_rate = topt.param_groups[0]["lr"]
        topt.step()
        if sched:
            sched.step()

    assert model.iterations == len(X) // batch
    assert np.max(np.abs(model.params - start_weights)) > 1e-3
    for linear, dense in zip([net[0], net[2]], model.layers):
        np.testing.assert_allclose(dense.kernel, linear.weight.detach().numpy().T, rtol=2e-5,
                                   atol=2e-6)
        np.testing.assert_allclose(dense.bias, linear.bias.detach().numpy(), rtol=2e-5,
                                   atol=2e-6)
    assert model.history.history["lr"] == [pytest.approx(last_rate, rel=1e-12)]


@pytest.mark.parametrize("case_id, make", [(c[0], c[1]) for c in CASES], ids=IDS)
def test_config_round_trips_through_json(case_id, make):
    opt = make()
    config = opt.get_config()
    again = optimizers.get(json.loads(json.dumps(config)))
    assert type(again) is type(opt)
    assert again.get_config() == config
    np.testing.assert_array_equal(again.hyper(), opt.hyper())
    assert again.n_slots == opt.n_slots


@pytest.mark.parametrize("name, cls, settings", [
    ("sgd", fn.SGD, dict(learning_rate=0.01, momentum=0.0, nesterov=False)),
    ("momentum", fn.SGD, dict(learning_rate=0.01, momentum=0.9, nesterov=False)),
    ("nesterov", fn.SGD, dict(learning_rate=0.01, momentum=0.9, nesterov=True)),
    ("adagrad", fn.Adagrad, dict(learning_rate=0.001, initial_accumulator_value=0.1,
                                 epsilon=1e-7)),
    ("adadelta", fn.Adadelta, dict(learning_rate=1.0, rho=0.95, epsilon=1e-6)),
    ("rmsprop", fn.RMSprop, dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                                 centered=False)),
    ("adam", fn.Adam, dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                           amsgrad=False)),
    ("adamw", fn.AdamW, dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
                             beta_2=0.999, epsilon=1e-7, amsgrad=False)),
    ("nadam", fn.Nadam, dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                             momentum_decay=0.004)),
    ("lion", fn.Lion, dict(learning_rate=1e-4, beta_1=0.9, beta_2=0.99, weight_decay=0.0)),
])
def test_names_and_default_settings(name, cls, settings):
    opt = optimizers.get(name.upper() if name == "adam" else name)
    assert type(opt) is cls
    for key, value in settings.items():
        assert getattr(opt, key) == value, key
    assert (opt.decay, opt.clipnorm, opt.clipvalue) == (0.0, None, None)


def test_lr_alias_decay_and_schedule_arguments():
    assert fn.SGD(lr=0.1, decay=0.001).get_config()["learning_rate"] == 0.1
    assert fn.SGD(lr=0.1, decay=0.001).decay == 0.001
    cyclic = schedules.CyclicLR(0.001, 0.006, step_size=10)
    opt = fn.SGD(learning_rate=cyclic)
    assert opt.learning_rate is cyclic
    assert opt.schedule()[0] == cyclic.code
    again = optimizers.get(opt.get_config())
    assert again.learning_rate.get_config() == cyclic.get_config()
    opt.learning_rate = 0.05
    assert opt.schedule()[1][0] == 0.05


@pytest.mark.parametrize("make, argument", [
    (lambda: fn.SGD(-0.1), "learning_rate"),
    (lambda: fn.Adam(lr=0.0), "learning_rate"),
    (lambda: fn.SGD(float("nan")), "learning_rate"),
    (lambda: fn.SGD(0.1, lr=0.1), "learning_rate"),
    (lambda: fn.SGD(momentum=-0.5), "momentum"),
    (lambda: fn.SGD(momentum=1.0), "momentum"),
    (lambda: fn.SGD(nesterov=True), "nesterov"),
    (lambda: fn.SGD(nesterov="yes", momentum=0.9), "nesterov"),
    (lambda: fn.SGD(weight_decay=-1e-4), "weight_decay"),
    (lambda: fn.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: fn.Adagrad(epsilon=-1e-7), "epsilon"),
    (lambda: fn.Adadelta(rho=1.5), "rho"),
    (lambda: fn.RMSprop(rho=1.0), "rho"),
    (lambda: fn.RMSprop(centered=1), "centered"),
    (lambda: fn.Adam(beta_1=1.0), "beta_1"),
    (lambda: fn.Adam(beta_2=-0.1), "beta_2"),
    (lambda: fn.Adam(amsgrad=None), "amsgrad"),
    (lambda: fn.AdamW(weight_decay=-0.01), "weight_decay"),
    (lambda: fn.Nadam(momentum_decay=-1.0), "momentum_decay"),
    (lambda: fn.Adam(decay=-0.001), "decay"),
    (lambda: fn.Adam(clipnorm=0.0), "clipnorm"),
    (lambda: fn.SGD(clipvalue=-1.0), "clipvalue"),
    (lambda: fn.SGD(learning_rate="fast"), "learning_rate"),
    (lambda: optimizers.get("adamax"), "adamax"),
    (lambda: optimizers.get({"learning_rate": 0.1}), "name"),
])
def test_bad_settings_raise_value_error_naming_the_argument(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_step_checks_its_buffers():
    opt = fn.Adam()
    params = np.zeros(4)
    with pytest.raises(ValueError, match="grads"):
        opt.step(params, np.zeros(4, np.float32), opt.initial_state(4, np.float64), 0)
    with pytest.raises(ValueError, match="state"):
        opt.step(params, np.zeros(4), np.zeros((1, 4)), 0)
    state = opt.initial_state(4, np.float64)
    with pytest.raises(ValueError, match="iteration"):
        opt.step(params, np.zeros(4), state, -1)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        opt.step(params, np.zeros(4), state, 0, steps_per_epoch=0)


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def _epochs_to_solve_xor(optimizer, seed, limit=20000, chunk=20):
    """Epochs (to ``chunk``) of full-batch training until the 2-4-1 XOR net classifies all four
    points; None if it has not after ``limit``."""
    model = fn.Sequential([fn.Dense(4, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=2, seed=seed)
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    for done in range(chunk, limit + 1, chunk):
        model.fit(XOR_X, XOR_Y, epochs=chunk, batch_size=None, shuffle=False)
        if model.evaluate(XOR_X, XOR_Y)["accuracy"] == 1.0:
            return done
    return None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_and_rmsprop_solve_xor_in_fewer_epochs_than_sgd(seed):
    # every optimizer at its default rate: SGD 0.01, Adam and RMSprop 0.001
    sgd = _epochs_to_solve_xor("sgd", seed)
    adam = _epochs_to_solve_xor("adam", seed)
    rmsprop = _epochs_to_solve_xor("rmsprop", seed)
    assert sgd is not None, "SGD at its default rate should solve XOR eventually"
    assert adam is not None and adam < sgd
    assert rmsprop is not None and rmsprop < sgd


def test_saved_model_continues_training_identically(tmp_path, rng):
    X = rng.standard_normal((30, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)

    def model():
        m = fn.Sequential([fn.Dense(5, activation="tanh"), fn.Dense(1, activation="sigmoid")],
                          input_dim=3, seed=4)
        opt = fn.Nadam(schedules.CyclicLR(0.001, 0.02, step_size=5, shape="hann"),
                       clipnorm=1.0, decay=0.01)
        return m.compile(optimizer=opt, loss="bce")

    straight = model()
    straight.fit(X, y, epochs=3, batch_size=8)
    resumed = model()
    resumed.fit(X, y, epochs=2, batch_size=8)
    resumed.save(tmp_path / "m.fnn")
    loaded = fn.load_model(tmp_path / "m.fnn")
    assert loaded.optimizer.get_config() == resumed.optimizer.get_config()
    loaded.fit(X, y, epochs=1, batch_size=8)
    assert loaded.params.tobytes() == straight.params.tobytes()


# ----------------------------------------------------------------------- Lion
def _lion_reference(w, grads, lr, beta_1, beta_2, weight_decay):
    """The published rule (Chen et al. 2023, Program 1), written out in NumPy, float64."""
    w, m = w.copy(), np.zeros_like(w)
    for g in grads:
        update = np.sign(beta_1 * m + (1 - beta_1) * g) + weight_decay * w
        w = w - lr * update
        m = beta_2 * m + (1 - beta_2) * g
    return w, m


@pytest.mark.parametrize("settings", [dict(), dict(beta_1=0.8, beta_2=0.95, weight_decay=0.1)])
def test_lion_follows_the_published_rule_for_twenty_steps(settings, rng):
    opt = fn.Lion(0.01, **settings)
    w = rng.normal(size=50)
    grads = [rng.normal(size=50) for _ in range(20)]
    grads[3][:5] = 0.0  # sign(0) = 0 where momentum and gradient vanish together
    params, state = w.copy(), opt.initial_state(50, np.float64)
    for t, g in enumerate(grads):
        opt.step(params, g.copy(), state, t)
    expected, m = _lion_reference(w, grads, 0.01, settings.get("beta_1", 0.9),
                                  settings.get("beta_2", 0.99), settings.get("weight_decay", 0.0))
    np.testing.assert_allclose(params, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state[0], m, rtol=1e-12, atol=1e-14)


def test_lion_fits():
    X = np.random.default_rng(0).normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = fn.Sequential([fn.Dense(1)], input_dim=3, seed=0).compile(fn.Lion(0.02), "mse")
    history = model.fit(X, y, epochs=30, batch_size=16)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_hyper_is_built_from_the_names_the_kernel_reads():
    """Each optimizer's hyper vector holds, in its kernel's declared order, the attributes of
    those names: the one declaration both sides use."""
    from fastnn.kernels import optimizers as k_opt

    for name, cls in optimizers.OPTIMIZERS.items():
        opt = cls()
        names = opt.kernel.settings._fields
        assert list(opt.hyper()) == [float(getattr(opt, n)) for n in names], name
        assert k_opt.OPTIMIZERS[opt.code] is opt.kernel
