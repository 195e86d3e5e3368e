"""The implementations the suite compares, by key: fastnn and its peers.

Modules are imported only when an implementation is made, so a peer whose package is missing
costs nothing until asked for (and then raises Unavailable with the reason).
"""

import importlib

from .base import Unavailable

# key -> (module, class); the order is the order of the report's tables.
IMPLEMENTATIONS = {
    "fastnn": ("fastnn_impl", "FastnnImpl"),
    "jax_scan": ("jax_impl", "JaxScanImpl"),
    "jax_step": ("jax_impl", "JaxStepImpl"),
    "torch": ("torch_impl", "TorchEagerImpl"),
    "sklearn": ("sklearn_impl", "SklearnImpl"),
}
PEERS = tuple(key for key in IMPLEMENTATIONS if key != "fastnn")


def implementation_class(key):
    module, cls = IMPLEMENTATIONS[key]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def make(key, workload, X, y, weights, training=True):
    """An implementation of ``workload`` (Unavailable when it cannot run here); with
    ``training`` False, for inference only."""
    return implementation_class(key)(workload, X, y, weights, training)


__all__ = ["IMPLEMENTATIONS", "PEERS", "Unavailable", "implementation_class", "make"]
