"""The default-settings study (python -m bench.quality) runs: one small table, one seed, the
fastnn command and scikit-learn's MLP, into a temporary results file; its report names both.
The real study is run by hand (docs/defaults.md)."""

import json

import numpy as np
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


def test_the_selection_study_scores_each_way_on_one_search():
    """bench.quality_selection: one short search's trials, validation outputs on every
    training row, and the four ways of choosing scored on the test rows."""
    from bench import quality_selection as selection

    record = selection.search_outputs("iris", 0, budget=2)
    trials = record["trials"]
    assert trials and len(record["y_val"]) == 120 and len(record["y_test"]) == 30
    assert all(len(t["val"]) == 120 and t["networks"] == 5 for t in trials)
    result = selection.scores(record)
    assert set(result) == set(selection.WAYS) and all(0.5 < v <= 1 for v in result.values())


def test_greedy_selection_picks_the_trial_that_lowers_the_loss_most():
    """Regression outputs against y = (1, 0): the first trial alone errs by 0.6 on the second
    row; averaging it with the third (-0.3) leaves 0.15, with the second (0.3) 0.45; then the
    fourth (-0.15) brings the average to 0.05."""
    from bench import quality_selection as selection

    trials = [{"networks": 1, "val": [[1.0], [v]]} for v in (0.6, 0.3, -0.3, -0.15)]
    y = np.array([1.0, 0.0])
    assert list(selection.greedy("regression", trials, y, 3, repeats=False)) == [1, 0, 1, 1]
    assert list(selection.greedy("regression", trials, y, 1, repeats=False)) == [1, 0, 0, 0]
