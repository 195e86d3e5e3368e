"""What every implementation of a workload offers the suite and the report.

An implementation is made for one workload with its data and initial weights (the preparation,
such as moving data into a framework's arrays, is not timed). ``train_epoch`` runs one epoch
and returns only when the computation has finished; ``predict_proba`` returns the network's
output probabilities as a NumPy array (n, k) with k = 1 for binary workloads. Both are what the
benchmarks time.

When an implementation cannot run a workload here (its package is not installed, or fastnn
lacks a feature the workload needs) its constructor raises ``Unavailable`` with the reason; the
suite skips it with that message and never substitutes something else.
"""


class Unavailable(Exception):
    """This implementation cannot run this workload on this machine; the message says why."""


class Implementation:
    name = None  # short key used in tables and pytest ids
    label = None  # as shown in the report
    is_fastnn = False

    def __init__(self, workload, X, y, weights, training=True):
        """With ``training`` False only ``predict_proba`` is needed (no optimizer is made)."""
        self.workload = workload

    def train_epoch(self, shuffle=True):
        """One pass over the data in batches of ``workload.batch`` (the last one smaller when
        the batch does not divide n), in a fresh shuffled order, or in row order."""
        raise NotImplementedError

    def predict_proba(self, X):
        """Output probabilities (n, k) for float32 rows X, in inference mode."""
        raise NotImplementedError


def require(module_name, purpose="this peer"):
    """Import ``module_name`` or raise Unavailable saying it is not installed."""
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError:
        raise Unavailable(f"{module_name} is not installed (pip install -e \".[bench]\" "
                          f"to run {purpose})") from None


def hidden_activation_layers(workload):
    """The workload's layers with the last dense layer's activation dropped: peers fold the
    output activation into their loss (BCE with logits, cross-entropy on logits)."""
    layers = list(workload.layers)
    kind, units, _ = layers[-1]
    layers[-1] = (kind, units, "linear")
    return layers
