"""The training options of the tabular workflow: one definition for ``fastnn.TabularModel``,
``fastnn train``, ``fastnn cv`` and ``fastnn sweep``, and how they become a network.

    layers None            widths of the hidden Dense layers; () for none
    activation "relu"      hidden activation (fastnn.builders.HIDDEN_ACTIVATIONS)
    opt "adam"             optimizer name (fastnn.optimizers: OPTIMIZERS and PRESETS)
    lr None                learning rate (a schedule's initial or peak rate); None: the
                           optimizer's default
    schedule "constant"    learning-rate schedule over the run (SCHEDULE_ARGUMENTS)
    clipnorm None          rescale each update's gradient to this global L2 norm at most
    epochs None            at most this many passes over the training rows
    batch_size None        rows per update, or "sqrt": round(sqrt(training rows))
    loss "auto"            a loss that fits the task (fastnn.tasks); auto: the task's default
    init "auto"            kernel initializer of every Dense layer (fastnn.builders.mlp)
    dropout None           Dropout rate after each hidden layer
    batchnorm False        Dense -> BatchNormalization -> Activation for each hidden layer
    l1 0.0, l2 0.0         penalty l1 sum|w| + l2 sum w^2 on every Dense kernel
    val_split 0.2          share of rows held out for validation (stratified by class), 0: none
    early_stopping None    patience in epochs on val_loss (loss without validation); 0: off
    cross_fit None         1: one network, validated on the val_split rows; K >= 2: cross-fit K
                           networks, each trained on the other folds' rows and validated (early
                           stopping) on its own fold, outputs averaged (val_split is then not
                           used; the rule cross-fits only when val_split is above 0)
    diagnose False         record per-layer gradient statistics (fastnn.GradientMonitor)
    seed 0                 seeds the split, the weights and the shuffling; None: a fresh one,
                           recorded in the model
    dtype "float32"        the network's float type
    device "cpu"           where training runs ("cuda": fastnn[cuda])
    threshold None         binary decisions: a number, None (0.5 for bce, 0 for hinge) or
                           "auto" (the F1-best threshold on the validation rows)
    drop ()                columns left out of the features
    high_cardinality "drop"   what becomes of string columns with too many distinct values
    max_levels 1000        the most categories a string column may have before it counts as
                           high-cardinality, and the width a kept one gets (fastnn.tabular.columns)

None for layers, dropout, epochs, batch_size, early_stopping and cross_fit means fastnn.defaults'
rule of the training rows and the task, settled by ``resolved`` (docs/defaults.md).
``TrainOptions(**options)`` checks every value (ValueError naming the option).
"""

import dataclasses
import math

import numpy as np

from ..model_schema import MAX_MEMBERS
from .columns import HIGH_CARDINALITY, MAX_LEVELS

# How ``schedule`` turns the run into a fastnn schedule's arguments: ``lr`` is the rate (given,
# or the optimizer's default), ``steps`` the batches per epoch, ``total`` the planned updates
# (epochs x steps). The decays end the run at about lr / 10.
SCHEDULE_ARGUMENTS = {
    "constant": lambda lr, epochs, steps, total: {"learning_rate": lr},
    "time_based_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_rate": 9.0 / total},
    "exponential_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "k": math.log(10.0) / total},
    "step_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "factor": 0.5, "every": max(1, epochs // 4)},
    "inverse_time_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_rate": 9.0 / epochs},
    "cyclic": lambda lr, epochs, steps, total: {
        "base_lr": lr / 10.0, "max_lr": lr, "step_size": 4 * steps},
    "cosine_decay": lambda lr, epochs, steps, total: {
        "initial_learning_rate": lr, "decay_steps": total},
    "one_cycle": lambda lr, epochs, steps, total: {"max_lr": lr, "total_steps": total},
}


class OptionError(ValueError):
    """A bad value of an option or argument. ``str()`` names it as Python does (``val_split``);
    ``named(name)`` puts another name in the same place (the command's ``--val-split``)."""

    def __init__(self, option, text):
        self.option, self.text = option, text
        super().__init__(text.format(option=option))

    def named(self, name):
        return self.text.format(option=name)


def _fail(name, expected, value):
    raise OptionError(name, f"{{option}} must be {expected}, got {value!r}")


def _integer(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        _fail(name, f"an integer >= {low}", value)
    return int(value)


def _number(name, value, low=None, high=None, low_open=False, high_open=False,
            optional=False):
    if value is None and optional:
        return None
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                             np.floating))
          and math.isfinite(value))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = (f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
                  if high is not None else f"{'>' if low_open else '>='} {low}")
        _fail(name, f"a finite number {'in ' if high is not None else ''}{bounds}", value)
    return float(value)


def _choice(name, value, choices):
    if not isinstance(value, str) or value not in choices:
        _fail(name, f"one of {', '.join(map(str, choices))}", value)
    return value


# The options whose default is fastnn.defaults' rule of the table's size.
RULED = ("layers", "dropout", "batch_size", "epochs", "early_stopping", "cross_fit")


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """The training options (module docstring), checked."""

    layers: tuple = None
    activation: str = "relu"
    opt: str = "adam"
    lr: float = None
    schedule: str = "constant"
    clipnorm: float = None
    epochs: int = None
    batch_size: object = None
    loss: str = "auto"
    init: str = "auto"
    dropout: float = None
    batchnorm: bool = False
    l1: float = 0.0
    l2: float = 0.0
    val_split: float = 0.2
    early_stopping: int = None
    cross_fit: int = None
    diagnose: bool = False
    seed: int = 0
    dtype: str = "float32"
    device: str = "cpu"
    threshold: object = None
    drop: tuple = ()
    high_cardinality: str = "drop"
    max_levels: int = MAX_LEVELS

    def __post_init__(self):
        from .. import builders, initializers, optimizers, schedules
        from ..tasks import LOSSES

        def set_(name, value):
            object.__setattr__(self, name, value)

        layers = self.layers
        if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
            layers = (layers,)
        if layers is not None:
            if isinstance(layers, str) or not hasattr(layers, "__iter__"):
                _fail("layers", "a sequence of positive integers", layers)
            set_("layers", tuple(_integer("layers", w, 1) for w in layers))
        set_("activation", builders.hidden_activation(self.activation))
        if not isinstance(self.opt, str):
            _fail("opt", "an optimizer name", self.opt)
        optimizers.get(self.opt)  # ValueError naming the choices
        set_("opt", self.opt.lower())
        set_("lr", _number("lr", self.lr, 0, low_open=True, optional=True))
        set_("schedule", schedules.canonical_name(self.schedule))
        set_("clipnorm", _number("clipnorm", self.clipnorm, 0, low_open=True, optional=True))
        if self.epochs is not None:
            set_("epochs", _integer("epochs", self.epochs, 1))
        if self.batch_size not in ("sqrt", None):
            set_("batch_size", _integer("batch_size", self.batch_size, 1))
        _choice("loss", self.loss, ("auto",) + LOSSES)
        if self.init != "auto":
            initializers.get(self.init)
        set_("dropout", _number("dropout", self.dropout, 0, 1, high_open=True, optional=True))
        set_("batchnorm", bool(self.batchnorm))
        set_("l1", _number("l1", self.l1, 0))
        set_("l2", _number("l2", self.l2, 0))
        set_("val_split", _number("val_split", self.val_split, 0, 1, high_open=True))
        if self.early_stopping is not None:
            set_("early_stopping", _integer("early_stopping", self.early_stopping, 0))
        if self.cross_fit is not None:
            set_("cross_fit", _integer("cross_fit", self.cross_fit, 1))
            if self.cross_fit > MAX_MEMBERS:
                _fail("cross_fit", f"an integer in [1, {MAX_MEMBERS}]", self.cross_fit)
        set_("diagnose", bool(self.diagnose))
        if self.seed is not None:
            set_("seed", _integer("seed", self.seed, 0))
        _choice("dtype", self.dtype, ("float32", "float64"))
        if self.threshold not in (None, "auto"):
            set_("threshold", _number("threshold", self.threshold))
        drop = (self.drop,) if isinstance(self.drop, str) else self.drop
        if not all(isinstance(name, str) for name in drop):
            _fail("drop", "column names", self.drop)
        set_("drop", tuple(drop))
        _choice("high_cardinality", self.high_cardinality, HIGH_CARDINALITY)
        set_("max_levels", _integer("max_levels", self.max_levels, 2))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def resolved(self, n_rows, task, seed, validated=True):
        """(the options as a run on ``n_rows`` training rows of ``task`` uses them, the names
        fastnn.defaults filled): the batch size as a number, the options left None set by the
        rule, the seed given. ``validated``: whether the run has validation rows. The one place
        where options that depend on the table are settled."""
        from .. import defaults

        given = {name: getattr(self, name) for name in RULED}
        if given["batch_size"] is not None:
            given["batch_size"] = batch_size_for(given["batch_size"], n_rows)
        filled = defaults.fill(given, n_rows, task, validated)
        return (self.replace(seed=seed, **{name: filled[name] for name in RULED}),
                filled["defaulted"])

    def to_settings(self):
        """The options as plain JSON values."""
        settings = dataclasses.asdict(self)
        settings.update(layers=None if self.layers is None else list(self.layers),
                        drop=list(self.drop))
        return settings

    @classmethod
    def from_settings(cls, settings):
        """Options from a model file's settings (other keys ignored, missing ones default)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in names})


def names():
    """The option names, in order."""
    return [f.name for f in dataclasses.fields(TrainOptions)]


def batch_size_for(setting, n_rows):
    """An integer batch size; "sqrt" is round(sqrt(training rows))."""
    return max(1, int(round(math.sqrt(n_rows)))) if setting == "sqrt" else int(setting)


def build_optimizer(options, n_rows):
    """(the optimizer with lr, schedule and clipnorm for ``n_rows`` training rows, the learning
    rate used: ``lr`` or the optimizer's default)."""
    from .. import optimizers, schedules

    optimizer = optimizers.get({"name": options.opt, "clipnorm": options.clipnorm})
    lr = float(options.lr if options.lr is not None else optimizer.learning_rate)
    rate = lr
    if options.schedule != "constant":
        steps = math.ceil(n_rows / batch_size_for(options.batch_size, n_rows))
        arguments = SCHEDULE_ARGUMENTS[options.schedule](lr, options.epochs, steps,
                                                         options.epochs * steps)
        rate = schedules.get({"name": options.schedule, **arguments})
    optimizer.learning_rate = rate
    return optimizer, lr


def build_network(options, target, n_rows, input_dim=None, seed=None):
    """The compiled network for ``target`` (a TargetEncoder) trained on ``n_rows`` rows, with
    ``seed`` (default: the options' seed); fastnn.builders.mlp builds it."""
    from ..builders import mlp

    optimizer, _ = build_optimizer(options, n_rows)
    return mlp(target.task, target.n_outputs, hidden=options.layers,
               activation=options.activation, dropout=options.dropout,
               batchnorm=options.batchnorm, l1=options.l1, l2=options.l2,
               kernel_initializer=options.init, loss=target.loss, optimizer=optimizer,
               seed=options.seed if seed is None else seed, dtype=options.dtype,
               device=options.device, input_dim=input_dim)
