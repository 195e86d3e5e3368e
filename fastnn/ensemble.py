"""``Ensemble``: trained networks with the same inputs, outputs and loss, whose outputs are
averaged.

    predict(X)       = (1 / K) sum_k member_k.predict(X)
    evaluate(X, y)   = {"loss": the loss of predict(X) against y, metric: value, ...}

The members' outputs are what each network's last layer gives: probabilities for a sigmoid or
softmax output (so the ensemble averages probabilities), raw scores for hinge, values for
regression. The members may differ in everything else (widths, depth, dropout, ...). An
ensemble is saved as one model file (fastnn.model_file, "fastnn_ensemble" metadata) and
``fastnn.load_model`` returns one for such a file.
"""

import numpy as np

from . import metrics as metrics_mod
from .kernels import losses as loss_kernels
from .kernel_scope import model_kernel_kinds
from .model import PREDICT_CHUNK, _check_verbosity
from .model_schema import MAX_MEMBERS


class Ensemble:
    """The average of ``members`` (at least two built, compiled fastnn Sequential models with
    the same input width, output width, dtype and loss). ``metadata``: the JSON kept in the
    model file (like Sequential.metadata)."""

    def __init__(self, members, metadata=None):
        members = list(members)
        if not 2 <= len(members) <= MAX_MEMBERS:
            raise ValueError(f"an ensemble has 2 to {MAX_MEMBERS} members, got {len(members)}")
        first = members[0]
        for i, member in enumerate(members):
            if member.plan is None or member.loss is None:
                raise ValueError(f"ensemble member {i} is not built and compiled")
            for what, value, expected in (
                    ("input width", member.input_dim, first.input_dim),
                    ("output width", member.output_dim, first.output_dim),
                    ("dtype", member.dtype, first.dtype),
                    ("loss", (member.loss.name, member.loss_param),
                     (first.loss.name, first.loss_param))):
                if value != expected:
                    raise ValueError(f"ensemble member {i} has the {what} {value}, member 0 "
                                     f"has {expected}")
        self.members = members
        self.metadata = {} if metadata is None else metadata
        self.history = first.history

    def __repr__(self):
        return f"Ensemble({len(self.members)} members)"

    @property
    def dtype(self):
        return self.members[0].dtype

    @property
    def input_dim(self):
        return self.members[0].input_dim

    @property
    def output_dim(self):
        return self.members[0].output_dim

    @property
    def name(self):
        return "ensemble"

    def count_params(self):
        return sum(member.count_params() for member in self.members)

    def summary(self, print_fn=print):
        """Each member's summary, numbered (printed with ``print_fn`` unless None)."""
        parts = [f"Ensemble of {len(self.members)} networks (outputs averaged), "
                 f"{self.count_params()} params in all"]
        for i, member in enumerate(self.members):
            parts += [f"member {i}:", member.summary(print_fn=None)]
        text = "\n".join(parts)
        if print_fn is not None:
            print_fn(text)
        return text

    def predict(self, X, batch_size=PREDICT_CHUNK, verbose=0):
        """The mean of the members' outputs for every row of X: an array (n, output units)."""
        _check_verbosity(verbose)
        total = None
        for member in self.members:
            out = member.predict(X, batch_size).astype(np.float64)
            total = out if total is None else total + out
        return (total / len(self.members)).astype(self.dtype)

    def evaluate(self, X, y, batch_size=PREDICT_CHUNK, verbose=0, sample_weight=None):
        """{"loss", metric: value, ...} of the averaged outputs on (X, y), as
        Sequential.evaluate computes them (without weight penalties: the members' penalties
        are not a penalty of the average)."""
        _check_verbosity(verbose)
        first = self.members[0]
        X, Y, W = first._data(X, y, sample_weight)
        out = self.predict(X, batch_size)
        loss = loss_kernels.loss_and_gradient(first.loss.code, out, Y,
                                              loss_kernels.NO_WEIGHTS if W is None else W,
                                              np.empty_like(out), first.loss_param, False,
                                              model_kernel_kinds(first))
        result = {"loss": float(loss)}
        for name in first.metrics:
            result[name] = metrics_mod.from_predictions(name, out, Y, first.accuracy_rule,
                                                        first.threshold, W)
        return result

    def save(self, path, metadata=None):
        """Write the ensemble as one model file (fastnn.model_file.save_ensemble);
        ``metadata`` defaults to ``self.metadata``."""
        from .model_file import save_ensemble

        save_ensemble(self.members, path, self.metadata if metadata is None else metadata)

    def to_onnx(self, path):
        """Write the ensemble as ONNX: input "X", output "Y" the Mean of the members' outputs
        (fastnn.onnx_export); returns the path."""
        from .onnx_export import export_sequential

        return export_sequential(self, path)
