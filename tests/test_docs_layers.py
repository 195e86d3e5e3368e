"""Every Python example in docs/layers/ runs."""

import pathlib
import re

import pytest

PAGES = sorted((pathlib.Path(__file__).parent.parent / "docs" / "layers").glob("*.md"))
EXAMPLES = [(page.name, code) for page in PAGES
            for code in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)]


@pytest.mark.parametrize("page, code", EXAMPLES, ids=[page for page, _ in EXAMPLES])
def test_example_runs(page, code, capsys):
    exec(compile(code, page, "exec"), {})
