"""Argument checks shared by the library: each returns the value in its canonical type or raises
a ValueError that names the argument, says what was expected and shows what was given.

    positive_int("units", 8) -> 8           non_negative_int("patience", 0) -> 0
    number("lr", 0.1, low=0, low_open=True) -> 0.1     (finite, within the interval)
    number("lr", -1, low=0, low_open=True)
        -> ValueError: lr must be a positive number, got -1.0
    flag("nesterov", True) -> True          (a real bool, not 1 or "yes")
    function("schedule", f) -> f            instance("each callback", cb, Callback) -> cb
    choice("optimizer", "adma", ["adam", "sgd"])
        -> ValueError: unknown optimizer 'adma' (did you mean 'adam'?); choose one of: adam, sgd
"""

import difflib
import math

import numpy as np

_REALS = (int, float, np.integer, np.floating)


def _is_int(value):
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


def positive_int(what, value):
    if not _is_int(value) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(what, value):
    if not _is_int(value) or value < 0:
        raise ValueError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)


def number(what, value, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a float: a finite real number (not a bool) in the interval given, open at an
    end when ``*_open``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REALS) \
            or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f"{what} must be {_within(low, high, low_open, high_open)}, "
                         f"got {value!r}")
    return value


def _within(low, high, low_open, high_open):
    """The interval in words: "a positive number", "a number >= 0.5", "a number in [0.0, 1.0)"."""
    if high is None:
        if low == 0:
            return "a positive number" if low_open else "a number >= 0"
        return f"a number {'>' if low_open else '>='} {float(low)!r}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {float(high)!r}"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return f"a number in {left}{float(low)!r}, {float(high)!r}{right}"


def flag(what, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be True or False, got {value!r}")
    return bool(value)


def choice(what, value, options):
    """``value`` when it is one of ``options`` (names); otherwise ValueError listing them, with
    the closest names when the value looks like a misspelling of one."""
    names = list(options)
    if isinstance(value, str) and value in names:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), names, n=2, cutoff=0.6)
        if close:
            hint = f" (did you mean {' or '.join(map(repr, close))}?)"
    raise ValueError(f"unknown {what} {value!r}{hint}; choose one of: {', '.join(names)}")


def function(what, value):
    if not callable(value):
        raise ValueError(f"{what} must be a function (a callable), got {value!r}")
    return value


def callable_or_none(what, value):
    return None if value is None else function(what, value)


def instance(what, value, cls):
    """``value`` when it is a ``cls``; otherwise ValueError naming the class by its import
    path."""
    if not isinstance(value, cls):
        raise ValueError(f"{what} must be a {cls.__module__}.{cls.__qualname__}, got {value!r}")
    return value
