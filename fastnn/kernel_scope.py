"""Which compiled specialisation of the CPU kernels a model runs: every table entry, or its own.

The kernels take ``kinds`` (fastnn/kernels/kinds.py): None compiles every layer kind,
activation, loss, optimizer and schedule into one specialisation that serves every model; a
KindSet compiles one model's entries only, a fraction of the work. ``kinds_for`` chooses, once
per dtype and process:

- None when that dtype's kernels are prepared in the cache (``fastnn compile``, or the install)
  or while fastnn.precompile prepares them: loading costs the same whatever the set;
- otherwise the first model's own KindSet, which then serves every later model whose entries it
  covers, and None (everything, compiled once) for a model it does not cover.

So a process that meets one kind of model compiles only what that model uses, and one that
meets several compiles at most that first set and then everything.
"""

import functools
import weakref

from . import compile_cache
from .kernels.clipping import CLIPPING
from .kernels.kinds import KindSet
from .kernels.network import ACTIVATION, DENSE, MAXOUT, OPF, OPS
from .kernels.regularization import WEIGHT_PENALTY
from .kernels.training import MONITOR_ON
from .schedules import SCHEDULES

_chosen = {}  # dtype name -> None (every entry) or the KindSet the process compiles
_plan_codes = weakref.WeakKeyDictionary()  # plan -> its (layer, activation, penalty) codes


def _codes_of_plan(plan):
    """(layer kinds, activations, weight penalty) codes of ``plan``'s op tables, as frozensets
    (computed once per plan: fit asks for them every epoch)."""
    codes = _plan_codes.get(plan)
    if codes is None:
        ops, opf = plan.ops, plan.opf
        layer_kinds = ops[:, OPS.kind]
        activated = (layer_kinds == DENSE) | (layer_kinds == ACTIVATION)
        penalised = ((layer_kinds == DENSE) | (layer_kinds == MAXOUT)) & (
            (opf[:, OPF.l1] != 0.0) | (opf[:, OPF.l2] != 0.0))
        codes = _plan_codes[plan] = (frozenset(layer_kinds.tolist()),
                                     frozenset(ops[activated, OPS.act].tolist()),
                                     frozenset({WEIGHT_PENALTY} if penalised.any() else ()))
    return codes


@functools.lru_cache(maxsize=256)
def _kind_set(families):
    """The KindSet of ((family, frozenset of codes), ...): one object per distinct set."""
    return KindSet(**dict(families))


# Every learning-rate schedule: a callback may set any of them between epochs (and each is a few
# scalar operations to compile).
_EVERY_SCHEDULE = frozenset(schedule.code for schedule in SCHEDULES.values())


def model_kinds(model, monitoring=False):
    """The KindSet of the table entries ``model`` uses: its layer kinds and activations, weight
    penalties when an op has one, and once compiled its loss, optimizer, gradient clipping and
    every schedule; the gradient monitor with ``monitoring``."""
    layer, activation, penalty = _codes_of_plan(model.plan)
    families = [("layer", layer), ("activation", activation), ("penalty", penalty),
                ("monitor", frozenset({MONITOR_ON} if monitoring else ()))]
    if model.loss is not None:
        families.append(("loss", frozenset({model.loss.code})))
    if model.optimizer is not None:
        optimizer = model.optimizer
        families += [("optimizer", frozenset({optimizer.code})),
                     ("schedule", _EVERY_SCHEDULE),
                     ("clipping", frozenset({CLIPPING} if any(optimizer.clipping()) else ()))]
    return _kind_set(tuple(families))


def kinds_for(needed, dtype):
    """The ``kinds`` to run a model needing the KindSet ``needed`` in ``dtype`` with (see the
    module doc)."""
    if dtype not in _chosen:
        _chosen[dtype] = None if compile_cache.kernels_cached(dtype) else needed
    chosen = _chosen[dtype]
    return chosen if chosen is not None and chosen.covers(needed) else None


def model_kernel_kinds(model, monitoring=False):
    """``kinds_for`` the model's own entries (``model_kinds``) in its dtype."""
    return kinds_for(model_kinds(model, monitoring), model.dtype.name)


def compiles_one_model(dtype):
    """True when this process compiles (or, before its first model, will compile) ``dtype``
    kernels for the first model's entries only."""
    if dtype in _chosen:
        return _chosen[dtype] is not None
    return not compile_cache.kernels_cached(dtype)


def compile_every_entry():
    """From now on, this process runs every model with the specialisation of every entry
    (fastnn.precompile prepares it)."""
    for dtype in compile_cache.DTYPES:
        _chosen[dtype] = None
