"""Option choices read from the library's own tables, imported only when a choice is checked or
listed, so that ``fastnn --help`` does not import fastnn (and so Numba)."""

import click


class LibraryChoice(click.Choice):
    """A case-insensitive ``click.Choice`` whose names come from ``load()`` on first use."""

    def __init__(self, load, extra=()):
        self._load = load
        self._extra = tuple(extra)
        self._choices = None
        self.case_sensitive = False

    @property
    def choices(self):
        if self._choices is None:
            self._choices = self._extra + tuple(self._load())
        return self._choices


def optimizer_names():
    from fastnn import optimizers

    return list(optimizers.OPTIMIZERS) + list(optimizers.PRESETS)


def schedule_names():
    from fastnn import schedules

    return list(schedules.SCHEDULES) + list(schedules.ALIASES)


def activation_names():
    from fastnn import activations

    return activations.ACTIVATIONS


def initializer_names():
    from fastnn import initializers

    return initializers.INITIALIZERS


def device_names():
    from fastnn.cuda import device

    return device.DEVICES
