"""The examples of docs/tabular.md (Python) and docs/cli.md (fastnn commands) run as written, in a
folder holding a copy of examples/."""

import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


def fenced(doc, language):
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "docs" / doc).read_text(), re.S)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    iris = pd.read_csv(ROOT / "examples" / "iris.csv")
    iris.drop(columns=["species"]).head(5).to_csv(tmp_path / "new.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_tabular_md_python_examples_run(workdir):
    pytest.importorskip("onnxruntime")
    blocks = fenced("tabular.md", "python")
    assert len(blocks) >= 5
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/tabular.md", "exec"), namespace)


def test_cli_md_commands_run(workdir):
    from fastnn_cli import cli

    commands = [line.split("  #")[0].strip() for block in fenced("cli.md", "bash")
                for line in block.splitlines() if line.startswith("fastnn ")]
    assert len(commands) >= 10
    for command in commands:
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.exit_code == 0, f"{command}: {result.output}"
