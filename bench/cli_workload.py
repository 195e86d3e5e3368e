"""B6: the ``fastnn`` command as a whole process, against pandas + PyTorch in one script."""

import importlib.util


def cli_available():
    """None when the fastnn command can run here, else the reason it cannot."""
    if importlib.util.find_spec("fastnn_cli") is None:
        return "not available yet: the `fastnn` command (package fastnn_cli) is not in this tree"
    return None


def measure_cli(scale, repeats):
    reason = cli_available()
    if reason:
        return {"unavailable": reason}
    raise NotImplementedError("B6 is measured once the command exists")
