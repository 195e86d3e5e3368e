"""Test helper: run the fastnn command in this process."""

from click.testing import CliRunner

from fastnn_cli import cli


def run(*args, code=0):
    """The command's CliRunner result for ``args``, after checking its exit code is ``code``
    and that no traceback was printed."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result
