"""The ``fastnn`` command-line application (Click), installed as the package ``fastnn_cli``.

The library never imports this package. Importing it imports nothing (``cli`` loads on first
use), so the console script can take over Ctrl-C and SIGTERM first; ``fastnn --help`` imports
only click; the commands import pandas, rich and fastnn when they run.
"""

__all__ = ["cli", "main"]

GC_THRESHOLD = 50000  # allocations less deallocations between young-generation collections


def main():
    """The console script ``fastnn``. The garbage collector's youngest generation is collected
    once 50000 more objects were allocated than freed, rather than Python's 700: a command's
    imports (NumPy, Numba, pandas) create hundreds of thousands of objects that live as long as
    the process, and hardly any reference cycles.
    When the command is done, its objects are frozen out of the collector (``gc.freeze``): the
    collections of Python's shutdown would otherwise walk them all, only to free memory that
    the process gives back anyway (docs/compile.md, "Start-up")."""
    import gc

    gc.set_threshold(GC_THRESHOLD)

    from . import signals

    signals.install()
    try:
        from .app import run

        run()
    except KeyboardInterrupt:  # before Click took over
        import sys

        sys.stderr.write("Interrupted.\n")
        raise SystemExit(signals.exit_code()) from None
    finally:
        gc.freeze()


def __getattr__(name):
    if name == "cli":
        from .app import cli

        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
