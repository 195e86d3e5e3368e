"""Option choices read from the library's own tables, imported only when a choice is checked or
listed, so that ``fastnn --help`` does not import fastnn (and so Numba).

A choice option shows NAME in its usage and lists the names in its help text, where Click wraps
them; a value that is not a choice gets "did you mean" with the closest names.
"""

import difflib

import click


class LibraryChoice(click.Choice):
    """A case-insensitive ``click.Choice`` whose names come from ``load()`` on first use."""

    def __init__(self, load, extra=(), metavar="NAME"):
        self._load = load
        self._extra = tuple(extra)
        self._choices = None
        self.case_sensitive = False
        self.metavar = metavar

    @property
    def choices(self):
        if self._choices is None:
            self._choices = self._extra + tuple(self._load())
        return self._choices

    def get_metavar(self, param, ctx):
        return self.metavar

    def listing(self):
        """The help text's list of the names."""
        return f"One of: {', '.join(self.choices)}."

    def get_invalid_choice_message(self, value, ctx):
        message = f"{value!r} is not one of {', '.join(map(repr, self.choices))}."
        close = difflib.get_close_matches(str(value).lower(), self.choices, n=2, cutoff=0.6)
        if close:
            message += f" Did you mean {' or '.join(map(repr, close))}?"
        return message


def fixed(*names):
    """A loader for a choice list that needs no import."""
    return lambda: names


def optimizer_names():
    from fastnn import optimizers

    return list(optimizers.OPTIMIZERS) + list(optimizers.PRESETS)


def schedule_names():
    from fastnn import schedules

    return list(schedules.SCHEDULES) + list(schedules.ALIASES)


def hidden_activation_names():
    from fastnn import builders

    return builders.HIDDEN_ACTIVATIONS


def initializer_names():
    from fastnn import initializers

    return initializers.INITIALIZERS


def device_names():
    from fastnn.cuda import device

    return device.DEVICES


def task_names():
    from fastnn import tasks

    return tasks.TASKS


def loss_names():
    from fastnn import tasks

    return tasks.LOSSES


def high_cardinality_names():
    from fastnn.tabular import columns

    return columns.HIGH_CARDINALITY
