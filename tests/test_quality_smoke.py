"""The default-settings study (python -m bench.quality) runs: one small table, one seed, the
fastnn command and scikit-learn's MLP, into a temporary results file; its report names both.
The real study is run by hand (docs/defaults.md)."""

import json

import pytest

pytest.importorskip("sklearn")

from bench import quality  # noqa: E402


def test_quick_study_runs_and_reports(tmp_path, capsys):
    results = tmp_path / "quality.json"
    quality.main(["--quick", "--tables", "iris", "--methods", "fastnn,sklearn_mlp",
                  "--results", str(results)])
    runs = json.loads(results.read_text())["runs"]
    assert {(r["table"], r["method"], r["seed"]) for r in runs} == {
        ("iris", "fastnn", 0), ("iris", "sklearn_mlp", 0)}
    assert all(0.5 < r["score"] <= 1.0 and r["seconds"] > 0 for r in runs)
    assert runs[0]["epochs"] >= 1  # fastnn's train --json result is kept
    report = capsys.readouterr().out
    assert "| iris | multiclass |" in report and "below scikit-learn's MLP" in report


def test_unknown_table_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        quality.main(["--tables", "nope", "--results", str(tmp_path / "q.json")])
