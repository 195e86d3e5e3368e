"""The CLI's one kind of user-facing failure: one line on stderr, exit code 2, no traceback."""

import click

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class InputError(click.ClickException):
    """Bad input (a file, a column, an option value): shown as ``Error: <message>``."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message):
        super().__init__(" ".join(str(message).split()))
