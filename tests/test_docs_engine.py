"""The Python example of docs/engine.md runs and prints what its comments say."""

import pathlib
import re

import fastnn as fn

PAGE = pathlib.Path(__file__).parent.parent / "docs" / "engine.md"


def test_the_threads_example_runs(capsys):
    (code,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    saved = fn.get_num_threads()
    try:
        exec(compile(code, str(PAGE), "exec"), {})
    finally:
        fn.set_num_threads(saved)
    assert capsys.readouterr().out.split() == ["True", "None"]
