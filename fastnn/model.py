"""Sequential: the Keras-like model object over the flat buffers and the compiled loop.

The model owns one flat parameter array, one gradient array of the same length, one state array
(non-trainable values such as running statistics) and a TrainingState (the optimizer's state
rows, the update count, the dropout and shuffle seeds: fastnn/training_state.py); its layers
hold views into the buffers. ``to(device)`` picks the backend (fastnn/backends.py) that fit,
predict and the gradients run on. ``fit`` builds the plan's tables once per call and runs the
compiled epoch loop once per epoch; nothing in Python runs per batch.
"""

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .backends import backend_for
from .buffers import aligned_zeros
from .checks import callable_or_none, non_negative_int, positive_int
from .inference import InferenceWorkspaces
from .kernels import inference as inference_kernels
from .kernels import losses as loss_kernels
from .kernel_scope import model_kernel_kinds
from .kernels.network import Network
from .kernels.regularization import regularization_penalty
from .kernels.training import LossSettings
from .layers import Layer
from .layers import from_config as layer_from_config
from .plan import Plan
from .training_state import TrainingState

DTYPES = {"float32": np.float32, "float64": np.float64}
# Rows per chunk when predicting, and the largest batch the workspace is sized for at once.
PREDICT_CHUNK = 1024
VERBOSITY = (0, 1, 2, "auto")


def fresh_seed():
    """A seed from the operating system's entropy, for ``seed=None``."""
    return int(np.random.SeedSequence().generate_state(1)[0])


class Sequential:
    """A stack of layers trained as one network.

    ``input_dim`` may be left out: the model is then built by the first fit, predict or an
    explicit ``build(input_dim)``. ``seed`` fixes the initial weights, the shuffling and the
    dropout masks (None: a fresh random seed, kept in ``model.seed`` and in the model file);
    ``dtype`` is "float32" (default) or "float64"; ``device`` is "cpu" (default) or "cuda"
    (see ``to`` and docs/gpu.md).
    """

    def __init__(self, layers=None, input_dim=None, seed=0, dtype="float32", name=None,
                 device="cpu"):
        if dtype not in DTYPES and np.dtype(dtype).name not in DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = np.dtype(DTYPES.get(dtype, dtype))
        self.seed = fresh_seed() if seed is None else non_negative_int("seed", seed)
        self.name = name or "sequential"
        self.to(device)
        self.layers = []
        self.plan = None
        self.params = None
        self.grads = None
        self.state = None
        self.training_state = None
        self.loss = None
        self.loss_param = None
        self.optimizer = None
        self.metrics = []
        self.history = None
        self.metadata = {}
        self._inference = None
        for layer in layers or ():
            self.add(layer)
        if input_dim is not None:
            self.build(input_dim)

    # ----------------------------------------------------------------- structure
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential takes fastnn layers, got {layer!r}")
        if self.plan is not None:
            raise ValueError("cannot add a layer to a model that is already built")
        self.layers.append(layer)

    @property
    def built(self):
        return self.plan is not None

    def build(self, input_dim):
        """Fix the input width, allocate the flat buffers and initialise the parameters."""
        input_dim = positive_int("input_dim", input_dim)
        if not self.layers:
            raise ValueError("the model has no layers")
        self.plan = Plan(self.layers, input_dim)
        # on a cache line: the compiled loops' vector loads of the weights then never straddle
        # two lines (docs/engine.md measures what that is worth to a one-row prediction)
        self.params = aligned_zeros(self.plan.n_params, self.dtype)
        self.grads = aligned_zeros(self.plan.n_params, self.dtype)
        self.state = aligned_zeros(self.plan.n_state, self.dtype)
        init_rng = np.random.default_rng([self.seed, 0])
        for layer, offsets, s_off in zip(self.layers, self.plan.param_offsets,
                                         self.plan.state_offsets):
            for pname, (offset, shape) in offsets.items():
                size = int(np.prod(shape))
                setattr(layer, pname, self.params[offset:offset + size].reshape(shape))
            for sname, shape in layer.state_shapes():
                size = int(np.prod(shape))
                setattr(layer, sname, self.state[s_off:s_off + size].reshape(shape))
                s_off += size
            layer.initialize(init_rng)
        self.training_state = TrainingState(self.seed)
        if self.loss is not None:
            self._check_compiled_model()
        return self

    def to(self, device):
        """Run fit/predict/evaluate on ``device``: "cpu", or "cuda" (fastnn/cuda; a clear
        ValueError where no GPU is usable). The weights stay in the host buffers either way."""
        self.backend = backend_for(device)
        return self

    @property
    def device(self):
        return self.backend.name

    @property
    def input_dim(self):
        return self.plan.n_in if self.plan else None

    @property
    def output_dim(self):
        return self.plan.n_out if self.plan else None

    @property
    def iterations(self):
        """Number of optimizer updates made so far."""
        return self.training_state.iterations if self.plan else 0

    def count_params(self):
        self._require_built()
        return self.plan.n_params

    def summary(self, print_fn=print):
        """Print (and return) a table of layers, output shapes and parameter counts."""
        self._require_built()
        rows = [("Layer (type)", "Output shape", "Param #")]
        for i, layer in enumerate(self.layers):
            n = sum(int(np.prod(s)) for _, s in layer.parameter_shapes())
            kind = type(layer).__name__
            label = f"{layer.name or kind.lower() + '_' + str(i)} ({kind})"
            if getattr(layer, "activation", None) not in (None, "linear"):
                label += f" [{layer.activation}]"
            rows.append((label, f"(None, {layer.n_out})", str(n)))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        rule = "-" * (sum(widths) + 4)
        lines = [f'Model: "{self.name}"  (input_dim={self.plan.n_in}, dtype={self.dtype.name})',
                 rule]
        for k, r in enumerate(rows):
            lines.append(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}")
            if k == 0:
                lines.append(rule)
        lines += [rule, f"Total params: {self.plan.n_params}"]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def get_weights(self):
        """Copies of every parameter array, layer by layer (kernel then bias for Dense)."""
        self._require_built()
        return [getattr(layer, pname).copy()
                for layer, offsets in zip(self.layers, self.plan.param_offsets)
                for pname in offsets]

    def set_weights(self, weights):
        self._require_built()
        targets = [getattr(layer, pname)
                   for layer, offsets in zip(self.layers, self.plan.param_offsets)
                   for pname in offsets]
        if len(weights) != len(targets):
            raise ValueError(f"expected {len(targets)} arrays, got {len(weights)}")
        for target, w in zip(targets, weights):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(f"weight of shape {w.shape} does not fit {target.shape}")
            target[...] = w

    # ----------------------------------------------------------------- configuration
    def get_config(self):
        """The architecture and compile settings as a JSON-serialisable dict (the model file's
        config keys; ``from_config`` rebuilds the model from it, untrained)."""
        compile_config = None
        if self.loss is not None:
            compile_config = {"optimizer": self.optimizer.get_config(), "loss": self.loss.name,
                              "loss_param": self.loss_param, "metrics": list(self.metrics)}
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed,
                "input_dim": self.input_dim,
                "layers": [layer.get_config() for layer in self.layers],
                "compile": compile_config}

    @classmethod
    def from_config(cls, config):
        """A new model (built and compiled when the config says so) from ``get_config()``."""
        layers = [layer_from_config(c) for c in config["layers"]]
        model = cls(layers, input_dim=config["input_dim"], seed=config["seed"],
                    dtype=config["dtype"], name=config.get("name"))
        compile_config = config.get("compile")
        if compile_config:
            loss = compile_config["loss"]
            if loss == "huber":
                loss = losses_mod.Huber(compile_config.get("loss_param", 1.0))
            model.compile(optimizer=compile_config["optimizer"], loss=loss,
                          metrics=compile_config.get("metrics"))
        return model

    def save(self, path, include_optimizer=True, metadata=None):
        """Write the model to ``path`` (see fastnn.model_file); ``metadata`` defaults to
        ``self.metadata``."""
        from .model_file import save_model

        save_model(self, path, include_optimizer,
                   self.metadata if metadata is None else metadata)

    def to_onnx(self, path):
        """Write the network as an ONNX file, input "X" and output "Y" (fastnn.onnx_export);
        returns the path."""
        from .onnx_export import export_sequential

        return export_sequential(self, path)

    # ----------------------------------------------------------------- training set-up
    def compile(self, optimizer="sgd", loss="mse", metrics=None):
        """Choose the optimizer (instance or name), the loss (name or object), the metrics."""
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss, self.loss_param = losses_mod.resolve(loss)
        if self.training_state is not None:
            self.training_state.reset_optimizer()
        self._metric_names = metrics
        if self.plan is not None:
            self._check_compiled_model()
        return self

    def _check_compiled_model(self):
        """Checks that need both the layers and the loss; sets the fused-output flag."""
        if any(getattr(layer, "activation", None) == "step" for layer in self.layers):
            raise ValueError("the step activation has no gradient and cannot be trained by "
                             "backpropagation; use fastnn.Perceptron for the perceptron rule")
        last = self.layers[-1]
        self.fused_output = (self.loss.fused_activation is not None
                             and getattr(last, "activation", None) == self.loss.fused_activation)
        self.accuracy_rule, self.threshold = losses_mod.accuracy_rule(self.loss, self.plan.n_out)
        self.metrics = metrics_mod.resolve(self._metric_names, self.accuracy_rule)

    def loss_settings(self):
        """The compiled loop's LossSettings record (fastnn/kernels/training.py)."""
        return LossSettings(self.loss.code, float(self.loss_param), bool(self.fused_output),
                            int(self.accuracy_rule), float(self.threshold))

    # ----------------------------------------------------------------- input checks
    def _require_built(self):
        if self.plan is None:
            raise ValueError("the model is not built yet: give input_dim, call build(input_dim) "
                             "or fit it on data first")

    def _require_compiled(self):
        if self.loss is None:
            raise ValueError("the model must be compiled (model.compile(...)) before it is "
                             "trained or evaluated")

    def _inputs(self, X):
        X = losses_mod.numeric_array("X", X)
        if X.ndim == 1:
            X = X.reshape(-1, 1) if self.plan is None or self.plan.n_in == 1 else X.reshape(1, -1)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D array (rows, features), got shape {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X has no rows")
        if self.plan is None:
            self.build(X.shape[1])
        if X.shape[1] != self.plan.n_in:
            raise ValueError(f"X has {X.shape[1]} feature column(s) but the model expects "
                             f"{self.plan.n_in}")
        with np.errstate(all="ignore"):
            X = np.ascontiguousarray(X, dtype=self.dtype)
        if not inference_kernels.all_finite(X):  # one compiled pass, no temporary array
            raise ValueError("X contains NaN or infinite values (or values too large for "
                             f"{self.dtype.name})")
        return X

    def _data(self, X, y, sample_weight=None, class_weight=None):
        """(X, Y, W): checked inputs, targets shaped for the loss, per-row weights or None."""
        X = self._inputs(X)
        Y = losses_mod.prepare_targets(self.loss, y, self.plan.n_out, self.dtype)
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {Y.shape[0]}")
        W = losses_mod.row_weights(self.loss, Y, sample_weight, class_weight, self.plan.n_out)
        return X, Y, W

    # ----------------------------------------------------------------- training
    def fit(self, X, y, epochs=1, batch_size=32, shuffle=True, verbose=0, drop_last=False,
            validation_data=None, validation_split=0.0, callbacks=None, progress=None,
            sample_weight=None, class_weight=None):
        """Train for ``epochs`` passes over (X, y); return a History (also ``self.history``).

        ``batch_size`` = 1 is stochastic gradient descent, ``None`` or len(X) is batch gradient
        descent. An epoch makes ceil(n / batch_size) updates, the last batch smaller when the
        size does not divide n (floor(n / batch_size) with ``drop_last=True``).
        ``validation_data=(X_val, y_val)`` (or ``(X_val, y_val, sample_weight_val)``) or
        ``validation_split`` (the last fraction of the rows, taken before shuffling) adds "val_"
        values to the logs. ``sample_weight`` (one weight >= 0 per row) and ``class_weight`` (a
        dict {class: weight} or "balanced") weight each row's loss, as docs/training.md says.
        ``callbacks``: a list of fastnn.callbacks.Callback. ``verbose=1`` prints one line per
        epoch. ``progress(epoch, batches_done, n_batches)`` is called between the compiled
        chunks of each epoch. A diverging loss, and Ctrl-C, are handled as docs/training.md
        says (fastnn.fit_loop).
        """
        from . import callbacks as callbacks_mod
        from .fit_loop import run_fit, split_validation

        self._require_compiled()
        X, Y, W = self._data(X, y, sample_weight, class_weight)
        if W is not None and not W.sum() > 0:
            raise ValueError("the sample weights (times the class weights) sum to 0: there is "
                             "nothing to fit")
        X, Y, W, validation = split_validation(X, Y, W, validation_data, validation_split,
                                               self._data)
        n = X.shape[0]
        batch_size = positive_int("batch_size", n if batch_size is None else batch_size)
        epochs = positive_int("epochs", epochs)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        callable_or_none("progress", progress)
        callbacks = callbacks_mod.check_callbacks(callbacks)
        if verbose:
            callbacks.insert(0, callbacks_mod.EpochLogger())
        monitor = any(cb.needs_layer_stats for cb in callbacks)
        trainer = self.backend.trainer(self, X, Y, W, batch_size, drop_last,
                                       monitor_layers=monitor)
        kinds = model_kernel_kinds(self)
        return run_fit(self, trainer, epochs, shuffle, validation, callbacks, progress,
                       lambda X_val, Y_val, W_val: self._scores(X_val, Y_val, W_val, kinds))

    def diagnose(self, X, y, batch_size=PREDICT_CHUNK, print_fn=print):
        """Gradient diagnostics of the current weights on (X, y): per layer the gradient norm
        (of the mean loss over all rows), the weight norm, the NaN/inf fraction and the dead
        ReLU units, and the vanishing/exploding/dying-ReLU flags. Prints the report with
        ``print_fn`` (None: silent) and returns a fastnn.diagnostics.Diagnostics."""
        from .diagnostics import diagnose

        self._require_compiled()
        X, Y, _ = self._data(X, y)
        result = diagnose(self, X, Y, batch_size)
        if print_fn is not None:
            print_fn(result.report())
        return result

    # ----------------------------------------------------------------- inference
    def predict(self, X, batch_size=PREDICT_CHUNK, verbose=0):
        """The network's output for every row of X: an array (n, output units). ``verbose``
        is accepted as Keras takes it (0, 1, 2 or "auto") and prints nothing. Threads may
        call it on one model at the same time (on the CPU it runs without the GIL)."""
        if not (type(verbose) is int and verbose == 0 and type(batch_size) is int
                and batch_size > 0):  # else not the common call: check both
            _check_verbosity(verbose)
            batch_size = positive_int("batch_size", batch_size)
        served = self._inference  # one row as the kernels take it: the lean path
        if served is not None and served.plan is self.plan and type(X) is np.ndarray \
                and X.shape == served.row_shape:
            out = served.one_row(self, X)
            if out is not None:
                return out
        return self.backend.predict(self, self._prediction_inputs(X), batch_size)

    def _prediction_inputs(self, X):
        """X as the kernels take it. The common case, a C-contiguous array of the model's dtype
        and width, is passed on as it is (no copy, no NumPy scan: its finiteness is checked in
        compiled code by the backend); anything else goes through the full checks."""
        plan = self.plan
        if (type(X) is np.ndarray and plan is not None and X.ndim == 2
                and X.dtype is self.dtype and X.shape[1] == plan.n_in and X.shape[0] > 0
                and X.flags.c_contiguous):
            return X
        return self._inputs(X)

    def inference_workspaces(self):
        """The CPU backend's InferenceWorkspaces (fastnn/inference.py) for the current plan,
        made at the first prediction after each build."""
        cached = self._inference
        if cached is None or cached.plan is not self.plan:
            cached = self._inference = InferenceWorkspaces(self.plan, self.dtype,
                                                           model_kernel_kinds(self))
        return cached

    def evaluate(self, X, y, batch_size=PREDICT_CHUNK, verbose=0, sample_weight=None):
        """{"loss": mean loss, metric: value, ...} on (X, y) with the current weights; with
        ``sample_weight`` every value is the weighted mean (docs/training.md)."""
        _check_verbosity(verbose)
        self._require_compiled()
        return self._scores(*self._data(X, y, sample_weight), model_kernel_kinds(self),
                            batch_size)

    def _scores(self, X, Y, W, kinds, batch_size=PREDICT_CHUNK):
        """evaluate on checked arrays with the loss kernel of ``kinds`` (``model_kernel_kinds``;
        fit's validation, every epoch, passes the one it chose when the fit began)."""
        out = self.backend.predict(self, X, batch_size)
        scratch = np.empty_like(out)
        loss = loss_kernels.loss_and_gradient(self.loss.code, out, Y,
                                              loss_kernels.NO_WEIGHTS if W is None else W,
                                              scratch, self.loss_param, False, kinds)
        result = {"loss": float(loss) + self.penalty()}
        for name in self.metrics:
            result[name] = metrics_mod.from_predictions(name, out, Y, self.accuracy_rule,
                                                        self.threshold, W)
        return result

    def penalty(self):
        """The weight penalty of the kernel regularizers at the current parameters (0.0 when
        there are none); part of every loss the model reports."""
        self._require_built()
        if not any(getattr(layer, "kernel_regularizer", None) for layer in self.layers):
            return 0.0
        network = Network(self.plan.ops, self.plan.opf, self.params, self.grads, self.state,
                          self.params, self.params, model_kernel_kinds(self))
        return float(regularization_penalty(network, False))

    def compute_gradients(self, X, y, return_loss=False, sample_weight=None):
        """The gradient of the mean loss (plus the weight penalty) over (X, y), all rows as one
        batch, in the layout of ``params`` (a new array); ``(loss, gradient)`` with
        ``return_loss``. It runs in training mode: BatchNorm uses the batch's statistics (its
        running statistics are not changed) and Dropout the masks of update step
        ``iterations``, the step the next training update will take."""
        self._require_compiled()
        X, Y, W = self._data(X, y, sample_weight)
        loss = self.backend.gradients(self, X, Y, W)
        return (float(loss), self.grads.copy()) if return_loss else self.grads.copy()


def _check_verbosity(verbose):
    if isinstance(verbose, (bool, np.bool_)) or verbose not in VERBOSITY:
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
