"""How the fastnn command is installed and started: the package map, a --help that does not
import Numba, and README.md's first line run as written."""

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"fastnn_cli": "cli"}
    assert config["project"]["scripts"] == {"fastnn": "fastnn_cli:main"}
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "fastnn").rglob("__init__.py")}
    assert set(setuptools["packages"]) == folders | {"fastnn_cli"}


def test_help_answers_without_importing_numba_pandas_or_rich():
    code = ("import sys\nfrom fastnn_cli import cli\ntry:\n    cli(['--help'])\n"
            "except SystemExit:\n    pass\n"
            "print([m for m in ('numba', 'pandas', 'rich', 'fastnn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "Commands:" in out.stdout and "train" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "[]"


def readme_setup_lines():
    text = (ROOT / "README.md").read_text()
    block = text.split("```")[1]
    return [line for line in block.splitlines()[1:] if line.strip()]


def test_readme_first_block_is_install_and_run_then_the_tests():
    lines = readme_setup_lines()
    assert len(lines) == 2
    assert lines[0].startswith("pip install -e . && fastnn train examples/")
    assert lines[1] == 'pip install -e ".[test]" && python -m pytest -q'
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == lines[1]


def test_readme_first_line_runs_as_written(tmp_path):
    """The command after the install, in a copy of examples/ (so nothing lands in the repo); the
    installed console script when this Python has one, else the same arguments via -m."""
    install, command = readme_setup_lines()[0].split(" && ")
    assert install == "pip install -e ."
    args = shlex.split(command)
    assert args[0] == "fastnn"
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    before = sorted(os.listdir(ROOT / "examples"))
    script = shutil.which("fastnn", path=os.path.dirname(sys.executable))
    launcher = [script] if script else [sys.executable, "-m", "fastnn_cli"]
    out = subprocess.run(launcher + args[1:], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    model_path = os.path.splitext(args[2])[0] + ".fnn"
    assert f"saved the model to {model_path}" in out.stderr
    assert (tmp_path / model_path).is_file()
    assert sorted(os.listdir(ROOT / "examples")) == before
