"""Gradient diagnostics: per-layer numbers, the flags they raise, the report, and ewma.

Per layer and per epoch (a GradientMonitor during fit), or for the current weights
(``model.diagnose``):

    grad_norm         ||g_l||_2: during fit the mean over the epoch's batches of each batch's
                      gradient norm; in diagnose the norm of the gradient of the mean loss over
                      all the rows given
    weight_norm       ||w_l||_2 at the end of the epoch (kernel and bias together)
    update_ratio      mean over the batches of ||w_after - w_before|| / ||w_before|| of the
                      optimizer step (NaN in diagnose, where no step is taken)
    grad_nonfinite    fraction of the gradient entries that were NaN or inf
    weight_nonfinite  fraction of the weights that are NaN or inf
    dead_fraction     ReLU-family layers (relu, leaky_relu, elu): fraction of units whose output
                      was never positive on any row (of the epoch's batches, or of X); NaN for
                      other layers

Flags (thresholds are GradientMonitor's arguments):

    vanishing   a lower layer's grad_norm < ratio x the last layer's, or its update_ratio
                < ratio x the last layer's, for ``patience`` epochs in a row (ratio 1e-3);
                compared over the layers that have a kernel
    exploding   a layer's grad_norm >= growth x its smallest value in earlier epochs (growth
                100) after rising for ``patience`` epochs in a row; a lower layer's grad_norm
                > the last layer's / ratio; NaN or inf in weights or gradients; a NaN or
                infinite loss
    dying_relu  a relu layer with more than ``dead`` of its units dead (dead 0.5)
"""

import math
from dataclasses import dataclass

import numpy as np

from .activations import RELU_FAMILY
from .callbacks import Callback
from .checks import number, positive_int
from .kernels import diagnostics as _k
from .kernels import training as _tk
from .kernels.losses import NO_WEIGHTS
from .kernel_scope import model_kernel_kinds
from .kernels.network import Network

FIELDS = ("grad_norm", "weight_norm", "update_ratio", "grad_nonfinite", "weight_nonfinite",
          "dead_fraction")


def ewma(values, beta=0.9):
    """Exponentially weighted moving average with bias correction:
    v_t = beta v_(t-1) + (1 - beta) x_t, v_0 = 0, returned as v_t / (1 - beta^t), t = 1..n."""
    beta = number("beta", beta, low=0.0, high=1.0, high_open=True)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {x.shape}")
    out = np.empty_like(x)
    v = 0.0
    for t, value in enumerate(x, start=1):
        v = beta * v + (1.0 - beta) * value
        out[t - 1] = v / (1.0 - beta ** t)
    return out


# ----------------------------------------------------------------------- the model's layers
def layer_names(model):
    return [layer.name or f"{type(layer).__name__.lower()}_{i}"
            for i, layer in enumerate(model.layers)]


def layer_table(model):
    """int64 (n_layers, 3): parameter span [start, stop) and whether units are tracked."""
    table = np.zeros((len(model.layers), 3), dtype=np.int64)
    for i, (layer, offsets) in enumerate(zip(model.layers, model.plan.param_offsets)):
        spans = [(off, off + int(np.prod(shape))) for off, shape in offsets.values()]
        if spans:
            table[i, _k.SPAN_START] = min(s for s, _ in spans)
            table[i, _k.SPAN_STOP] = max(e for _, e in spans)
        table[i, _k.TRACK_UNITS] = getattr(layer, "activation", None) in RELU_FAMILY
    return table


def monitor_arrays(model, enabled):
    """The ``monitor`` argument of the compiled loop; zero rows (nothing recorded) when not
    ``enabled``."""
    if not enabled:
        return (np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=model.dtype),
                np.zeros((0, _k.N_LAYER_STATS)), np.zeros(0, dtype=np.uint8))
    return (layer_table(model), np.zeros(model.plan.n_params, dtype=model.dtype),
            np.zeros((len(model.layers), _k.N_LAYER_STATS)),
            np.zeros(sum(model.plan.widths), dtype=np.uint8))


def reset_monitor(monitor):
    monitor[2][:] = 0.0
    monitor[3][:] = 0


def _weight_values(model, table):
    norms, nonfinite = [], []
    for start, stop in table[:, :2]:
        w = model.params[start:stop].astype(np.float64)
        if w.size == 0:
            norms.append(math.nan)
            nonfinite.append(math.nan)
        else:
            norms.append(float(np.sqrt(np.sum(w * w))))
            nonfinite.append(float(np.mean(~np.isfinite(w))))
    return norms, nonfinite


def _dead_fractions(model, table, active):
    dead, unit = [], 0
    for width, tracked in zip(model.plan.widths, table[:, _k.TRACK_UNITS]):
        dead.append(float(1.0 - active[unit:unit + width].mean()) if tracked else math.nan)
        unit += width
    return dead


def epoch_layer_values(model, monitor):
    """{field: [one value per layer]} from the compiled loop's accumulators and the weights."""
    table, _, stats, active = monitor
    sizes = (table[:, _k.SPAN_STOP] - table[:, _k.SPAN_START]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        batches = stats[:, _k.LS_BATCHES]
        values = {
            "grad_norm": stats[:, _k.LS_GRAD_NORM] / batches,
            "update_ratio": stats[:, _k.LS_UPDATE_RATIO] / stats[:, _k.LS_RATIO_BATCHES],
            "grad_nonfinite": stats[:, _k.LS_GRAD_NONFINITE] / (sizes * batches),
        }
    values = {k: [float(x) if s > 0 else math.nan for x, s in zip(v, sizes)]
              for k, v in values.items()}
    values["weight_norm"], values["weight_nonfinite"] = _weight_values(model, table)
    values["dead_fraction"] = _dead_fractions(model, table, active)
    return values


# ----------------------------------------------------------------------- flags
@dataclass
class Flag:
    """A problem found: ``kind`` (vanishing, exploding, dying_relu), the 0-based ``epoch`` (None
    in diagnose), the layer indices concerned and a sentence saying what was seen."""

    kind: str
    epoch: object
    layers: list
    message: str


@dataclass
class Thresholds:
    ratio: float = 1e-3
    growth: float = 100.0
    dead: float = 0.5
    patience: int = 3


class Diagnostics:
    """The numbers and flags of a GradientMonitor (``history.diagnostics``) or of
    ``model.diagnose``. ``d["grad_norm"]`` is an array (epochs, layers); ``d.flags`` the Flags
    raised, ``d.layers`` the layer names, ``d.report()`` the text the monitor prints."""

    def __init__(self, model, thresholds=None):
        self.layers = layer_names(model)
        self.thresholds = thresholds or Thresholds()
        self._kernel_layers = [i for i, offsets in enumerate(model.plan.param_offsets)
                               if "kernel" in offsets]
        self._relu_layers = [i for i, layer in enumerate(model.layers)
                             if getattr(layer, "activation", None) == "relu"]
        self.epochs = []
        self.losses = []
        self._values = {field: [] for field in FIELDS}
        self.flags = []

    def __getitem__(self, field):
        if field not in self._values:
            raise KeyError(f"{field!r}; the fields are: {', '.join(FIELDS)}")
        return np.array(self._values[field], dtype=np.float64).reshape(-1, len(self.layers))

    def record(self, epoch, values, loss):
        """Add one epoch's values (or one diagnose snapshot: epoch None); return the new flags."""
        self.epochs.append(epoch)
        self.losses.append(float(loss))
        for field in FIELDS:
            self._values[field].append([float(v) for v in values[field]])
        flags = self._vanishing() + self._exploding() + self._dying()
        for flag in flags:
            flag.epoch = epoch
        self.flags += flags
        return flags

    def _lower_and_last(self):
        layers = self._kernel_layers
        return (layers[:-1], layers[-1]) if len(layers) > 1 else ([], None)

    def _vanishing(self):
        lower, last = self._lower_and_last()
        patience = 1 if self.epochs[-1] is None else self.thresholds.patience
        if last is None or len(self.epochs) < patience:
            return []
        ratio = self.thresholds.ratio
        recent = {f: self[f][-patience:] for f in ("grad_norm", "update_ratio")}
        small = np.zeros((patience, len(self.layers)), dtype=bool)
        for field, values in recent.items():
            with np.errstate(invalid="ignore"):
                small |= values < ratio * values[:, [last]]
        layers = [i for i in lower if small[:, i].all()]
        if not layers:
            return []
        g = recent["grad_norm"][-1]
        return [Flag("vanishing", None, layers,
                     f"gradient of layer {self.layers[layers[0]]} is {g[layers[0]]:.2e}, "
                     f"{g[layers[0]] / g[last]:.1e} of the last layer's ({g[last]:.2e}); "
                     f"{len(layers)} lower layer(s) barely learn: try ReLU with He init, "
                     f"BatchNorm or a shallower net")]

    def _exploding(self):
        grads = self["grad_norm"]
        reasons, layers = [], set()
        bad = [i for i in range(len(self.layers))
               if self["grad_nonfinite"][-1, i] > 0 or self["weight_nonfinite"][-1, i] > 0]
        if bad:
            layers.update(bad)
            reasons.append("NaN or inf in weights or gradients")
        if not math.isfinite(self.losses[-1]):
            reasons.append("the loss became NaN or infinite")
        patience = self.thresholds.patience
        if len(self.epochs) > patience:
            with np.errstate(invalid="ignore", divide="ignore"):
                growth = grads[-1] / np.where(grads[:-1] > 0, grads[:-1], np.inf).min(axis=0)
                rising = (np.diff(grads[-1 - patience:], axis=0) > 0).all(axis=0)
            grown = [i for i in range(len(self.layers))
                     if rising[i] and growth[i] >= self.thresholds.growth]
            if grown:
                layers.update(grown)
                reasons.append(f"gradient norms grew {np.max(growth[grown]):.0f}x, rising for "
                               f"{patience} epochs in a row")
        lower, last = self._lower_and_last()
        if last is not None:
            big = [i for i in lower if grads[-1, i] * self.thresholds.ratio > grads[-1, last]]
            if big:
                layers.update(big)
                reasons.append("lower layers' gradients are over "
                               f"{1 / self.thresholds.ratio:.0f}x the last layer's")
        if not reasons:
            return []
        return [Flag("exploding", None, sorted(layers),
                     "; ".join(reasons) + ": lower the learning rate, clip gradients or "
                                          "scale the inputs")]

    def _dying(self):
        dead = self["dead_fraction"][-1]
        layers = [i for i in self._relu_layers if dead[i] > self.thresholds.dead]
        if not layers:
            return []
        shown = ", ".join(f"{self.layers[i]} {dead[i]:.0%}" for i in layers)
        return [Flag("dying_relu", None, layers,
                     f"dead ReLU units (never active): {shown}; lower the learning rate, use "
                     f"leaky_relu or a non-negative bias init")]

    def flagged(self, kind):
        """The epochs at which a flag of ``kind`` was raised."""
        return [f.epoch for f in self.flags if f.kind == kind]

    def report(self):
        """A table of the last epoch's (or the snapshot's) numbers per layer, then the flags."""
        if not self.epochs:
            return "no diagnostics recorded"
        epoch = self.epochs[-1]
        title = "Gradient diagnostics" + ("" if epoch is None else f" (epoch {epoch + 1})")
        header = ("layer", "grad norm", "weight norm", "update/w", "NaN/inf", "dead")
        rows = [header]
        for i, name in enumerate(self.layers):
            nonfinite = np.fmax(self["grad_nonfinite"][-1, i], self["weight_nonfinite"][-1, i])
            rows.append((name, _num(self["grad_norm"][-1, i]), _num(self["weight_norm"][-1, i]),
                         _num(self["update_ratio"][-1, i]), _pct(nonfinite),
                         _pct(self["dead_fraction"][-1, i])))
        widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
        lines = [title] + ["  ".join(cell.rjust(w) if c else cell.ljust(w)
                                     for c, (cell, w) in enumerate(zip(row, widths)))
                           for row in rows]
        kinds = list(dict.fromkeys(f.kind for f in self.flags))
        if not kinds:
            lines.append("no problem flagged")
        for kind in kinds:
            flags = [f for f in self.flags if f.kind == kind]
            when = "" if flags[-1].epoch is None else " " + _epoch_span(flags)
            lines.append(f"{kind.upper()}{when}: {flags[-1].message}")
        return "\n".join(lines)

    def __repr__(self):
        return (f"Diagnostics(layers={len(self.layers)}, epochs={len(self.epochs)}, "
                f"flags={sorted({f.kind for f in self.flags})})")


def _num(x):
    return "-" if math.isnan(x) else f"{x:.3g}"


def _pct(x):
    return "-" if math.isnan(x) else f"{x:.0%}"


def _epoch_span(flags):
    first, last = flags[0].epoch + 1, flags[-1].epoch + 1
    return f"(epoch {first})" if first == last else f"(epochs {first}-{last})"


# ----------------------------------------------------------------------- the callback
class GradientMonitor(Callback):
    """Record per-layer gradient statistics every epoch, inside the compiled loop, and flag
    vanishing or exploding gradients and dying ReLUs (see the module docstring for the rules).

    The numbers and flags are in ``history.diagnostics`` (also ``monitor.diagnostics``).
    ``ratio``, ``growth``, ``dead`` and ``patience`` are the flags' thresholds; with
    ``verbose=1`` each new flag is printed when raised and the report at the end.
    """

    needs_layer_stats = True

    def __init__(self, ratio=1e-3, growth=100.0, dead=0.5, patience=3, verbose=0):
        super().__init__()
        self.thresholds = Thresholds(
            number("GradientMonitor: ratio", ratio, low=0.0, high=1.0, low_open=True,
                   high_open=True),
            number("GradientMonitor: growth", growth, low=1.0, low_open=True),
            number("GradientMonitor: dead", dead, low=0.0, high=1.0, high_open=True),
            positive_int("GradientMonitor: patience", patience))
        self.verbose = verbose
        self.diagnostics = None

    def on_train_begin(self, logs=None):
        self.diagnostics = Diagnostics(self.model, self.thresholds)
        self.model.history.diagnostics = self.diagnostics
        self._values = None

    def on_layer_stats(self, epoch, values):
        self._values = values

    def on_epoch_end(self, epoch, logs=None):
        flags = self.diagnostics.record(epoch, self._values, logs.get("loss", math.nan))
        if self.verbose:
            seen = {f.kind for f in self.diagnostics.flags if f.epoch < epoch}
            for flag in flags:
                if flag.kind not in seen:
                    print(f"Epoch {epoch + 1}: {flag.kind.upper()}: {flag.message}")

    def on_train_end(self, logs=None):
        if self.verbose:
            print(self.diagnostics.report())


# ----------------------------------------------------------------------- diagnose
def diagnose(model, X, Y, batch_size=1024, thresholds=None):
    """Diagnostics of the current weights on (X, Y): the gradient of the mean loss over all rows
    (computed ``batch_size`` rows at a time), the weights, and the units active on any row."""
    n = X.shape[0]
    chunk = max(1, min(int(batch_size), n))
    ops, opf, workspace = model.plan.tables(chunk)
    network = Network(ops, opf, model.params, model.grads, model.state,
                      np.empty(workspace, dtype=model.dtype),
                      np.empty(workspace, dtype=model.dtype), model_kernel_kinds(model))
    table = layer_table(model)
    active = np.zeros(sum(model.plan.widths), dtype=np.uint8)
    total = np.zeros(model.plan.n_params)
    loss = 0.0
    settings, state = model.loss_settings(), model.training_state
    for start in range(0, n, chunk):
        xb, yb = X[start:start + chunk], Y[start:start + chunk]
        rows = xb.shape[0]
        loss += rows * _tk.batch_gradients(xb, yb, NO_WEIGHTS, network, settings,
                                           state.mask_seed, state.counters[0])
        _k.mark_active_units(ops, table, network.acts, rows, active)
        total += rows * model.grads
    total /= n
    values = {"update_ratio": [math.nan] * len(model.layers)}
    values["grad_norm"], values["grad_nonfinite"] = [], []
    for start, stop in table[:, :2]:
        g = total[start:stop]
        finite = np.isfinite(g)
        values["grad_norm"].append(float(np.sqrt(np.sum(g[finite] ** 2))) if g.size else math.nan)
        values["grad_nonfinite"].append(float(1.0 - finite.mean()) if g.size else math.nan)
    values["weight_norm"], values["weight_nonfinite"] = _weight_values(model, table)
    values["dead_fraction"] = _dead_fractions(model, table, active)
    result = Diagnostics(model, thresholds)
    result.record(None, values, loss / n)
    return result
