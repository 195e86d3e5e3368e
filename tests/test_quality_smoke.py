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


def test_heldout_tables_come_only_from_the_reserved_packages():
    from bench import quality_tables as tables

    assert not set(tables.HELDOUT) & set(tables.TABLES)
    assert all(loader.package in tables.RESERVED for loader in tables.HELDOUT.values())
    assert not any(getattr(loader, "package", None) in tables.RESERVED
                   for loader in tables.TABLES.values())


@pytest.mark.parametrize("argv", [["--heldout", "--tables", "iris"], ["--tables", "biopsy"]])
def test_a_table_of_the_other_group_is_refused(tmp_path, argv):
    with pytest.raises(SystemExit):
        quality.main(argv + ["--results", str(tmp_path / "q.json")])
    assert not (tmp_path / "q.json").exists()
