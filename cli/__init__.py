"""The ``fastnn`` command-line application (Click), installed as the package ``fastnn_cli``.

The library never imports this package. ``fastnn --help`` imports only click; the commands
import pandas, rich and fastnn when they run.
"""

from .app import cli, main

__all__ = ["cli", "main"]
