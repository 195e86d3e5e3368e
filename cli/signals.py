"""Ctrl-C and SIGTERM: both stop the command the same way.

``install()`` (the console script's first step) makes SIGINT and SIGTERM raise
KeyboardInterrupt in the main thread, so that SIGTERM (how containers and job schedulers stop
a job) behaves like Ctrl-C: training stops at a clean point and keeps the best model so far.
The exit code tells them apart: 130 after SIGINT, 143 (128 + 15) after SIGTERM.
"""

import signal

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

_received = []


def _raise_interrupt(signum, frame):
    _received.append(signum)
    raise KeyboardInterrupt


def install():
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)


def terminated():
    """Whether the interrupt came from SIGTERM."""
    return bool(_received) and _received[-1] == signal.SIGTERM


def exit_code():
    return EXIT_TERMINATED if terminated() else EXIT_INTERRUPTED


def what():
    """How the interrupt is named in messages."""
    return "terminated (SIGTERM)" if terminated() else "interrupted"
