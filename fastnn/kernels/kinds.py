"""Which entries of the tables a compiled kernel handles: every entry, or just a model's.

Every kernel that dispatches on a table code (a layer kind, an activation, a loss, an
optimizer, a learning-rate schedule) or runs an optional part of a step (the gradient monitor,
weight penalties, gradient clipping) takes ``kinds`` and passes it on,
and ``switch`` (fastnn/kernels/table.py) compiles a case only for the codes ``kinds`` lets
through. ``kinds`` is either

- ``None``: every entry of every table. This specialisation serves every model; it is the one
  prepared at install time and by ``fastnn compile``.
- a ``KindSet``: per family, the codes one model uses. It compiles only those cases (and the
  kernels they call), so a process that finds nothing prepared compiles a fraction of the code.

The codes are part of the Numba type of a ``KindSet``, so each set is its own specialisation,
cached on disk like any other. A code that a ``KindSet`` leaves out must never reach the
kernel: its case is not there, and nothing would run (fastnn/kernel_scope.py builds the sets).
"""

from numba.core import types
from numba.extending import NativeValue, models, register_model, unbox

FAMILIES = ("layer", "activation", "loss", "optimizer", "schedule", "monitor", "penalty",
            "clipping")


class KindSetType(types.Type):
    """The Numba type of a KindSet: ``families`` is ((family, (code, ...)), ...) in FAMILIES
    order."""

    def __init__(self, families):
        self.families = families
        listed = "; ".join(f"{family}={','.join(map(str, codes))}" for family, codes in families)
        super().__init__(name=f"KindSet({listed})")

    @property
    def key(self):
        return self.families


register_model(KindSetType)(models.OpaqueModel)


@unbox(KindSetType)
def _unbox_kind_set(typ, obj, c):
    return NativeValue(c.context.get_dummy_value())


class KindSet:
    """Per family of FAMILIES, the codes compiled code must handle (a family not named: none
    of its codes). Compiled code sees only the codes, as a compile-time constant."""

    __slots__ = ("families", "_numba_type_")

    def __init__(self, **codes):
        unknown = sorted(set(codes) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown table families {unknown}; the families are {FAMILIES}")
        self.families = tuple((family, tuple(sorted({int(c) for c in codes.get(family, ())})))
                              for family in FAMILIES)
        self._numba_type_ = KindSetType(self.families)

    def codes(self, family):
        """The codes of ``family`` this set lets through, sorted."""
        return dict(self.families)[family]

    def covers(self, other):
        """True when every code of ``other`` is in this set too."""
        mine = dict(self.families)
        return all(set(codes) <= set(mine[family]) for family, codes in other.families)

    def union(self, other):
        """The KindSet with the codes of both."""
        theirs = dict(other.families)
        return KindSet(**{family: set(codes) | set(theirs[family])
                          for family, codes in self.families})

    def __eq__(self, other):
        return isinstance(other, KindSet) and self.families == other.families

    def __hash__(self):
        return hash(self.families)

    def __repr__(self):
        listed = ", ".join(f"{family}={set(codes) or '{}'}" for family, codes in self.families)
        return f"KindSet({listed})"


def handles(kinds, family, code):
    """At compile time: whether kernels typed with ``kinds`` (a Numba type: none, an omitted
    argument, or a KindSetType) handle ``code`` of ``family``."""
    if isinstance(kinds, KindSetType):
        return code in dict(kinds.families)[family]
    if isinstance(kinds, (types.NoneType, types.Omitted)):
        return True
    raise TypeError(f"kinds must be None or a KindSet, got {kinds}")
