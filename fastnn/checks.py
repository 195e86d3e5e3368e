"""Argument checks shared by the library: each returns the value in its canonical type or raises
a ValueError that names the argument, says what was expected and shows what was given.

    positive_int("units", 8) -> 8           non_negative_int("patience", 0) -> 0
    number("lr", 0.1, low=0, low_open=True) -> 0.1     (finite, within the interval)
    flag("nesterov", True) -> True          (a real bool, not 1 or "yes")
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
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else repr(float(low))
        hi = "inf" if high is None else repr(float(high))
        raise ValueError(f"{what} must be a number in {left}{lo}, {hi}{right}, got {value!r}")
    return value


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


def callable_or_none(what, value):
    if value is not None and not callable(value):
        raise ValueError(f"{what} must be a callable, got {value!r}")
    return value
