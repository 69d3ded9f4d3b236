"""`archscale compare` as a user runs it, in process: exit codes, one-line errors, every format, the
report folder, and the comparison printed at the end of `archscale run`. The database read is replaced
by the hand-made study of test_report_frames (`read_inputs` is the report's one reader)."""

import json
import sys

import pytest

from archscale.cli.app import app, main
from archscale.cli.compare_render import print_comparison
from archscale.errors import UserError
from archscale.report import Inputs
from archscale.report.claims import comparison
from test_report_frames import PLAN, study_trials

STUDY = "hand"


@pytest.fixture(autouse=True)
def hand_study(monkeypatch):
    """`read_inputs` returns the hand-made study for STUDY and the store's error for any other name."""

    def read_inputs(study, db):
        if study != STUDY:
            raise UserError(f"no study '{study}' in sqlite:///results.db; studies: {STUDY}")
        return Inputs(STUDY, "completed", study_trials(), None, PLAN)

    monkeypatch.setattr(comparison, "read_inputs", read_inputs)
    monkeypatch.setenv("COLUMNS", "100")


def run_main(monkeypatch, capsys, *args):
    """`archscale ARGS` through the console entry point: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["archscale", *args])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_table_is_the_default(monkeypatch, capsys):
    code, out, _ = run_main(monkeypatch, capsys, "compare", STUDY, "--db", "sqlite:///results.db")
    assert code == 0
    assert "hand (completed): test accuracy (%)" in out
    squeezed = " ".join(out.split())  # the table wraps long lines
    head = "principled − tuned across architectures like these (differing in the LR choice and init, lr_search; "
    assert head + "search luck not included: set search_repeats ≥ 2): +3.0 pp [-85.9, +91.9]" in squeezed
    assert "(t, n=2 architectures; fixed: repeat); per architecture 1 win, 0 inconclusive, 1 loss" in squeezed
    assert "at these searched LRs: +3.0 pp [+3.0, +3.0] (t, n=2 seeds; fixed: repeat, architecture)" in squeezed
    assert "principled vs tuned differ in more than how the LR is chosen" in out
    assert max(len(line) for line in out.splitlines()) <= 120


def test_json_with_the_report_folder(tmp_path):
    from typer.testing import CliRunner

    out = tmp_path / "report"
    args = ["compare", STUDY, "--format", "json", "--out", str(out), "--metric", "val_acc"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["format"] == "archscale.compare/3"
    assert doc["metric"]["name"] == "val_acc" and doc["metric"]["column"] == "val_accuracy"
    assert [p["key"] for p in doc["pairs"]] == ["principled:tuned", "principled:fixed"]
    assert doc["pairs"][0]["note"].startswith("principled vs tuned differ in more than how the LR is chosen")
    assert doc["pairs"][1]["note"] is None and doc["pairs"][1]["differences"] == []
    assert json.loads((out / "comparison.json").read_text()) == doc
    assert (out / "report.html").is_file() and (out / "cost_to_match.png").is_file()
    assert (out / "searches.csv").is_file() and (out / "pairs.csv").is_file()
    assert f"wrote 16 files to {out}" in result.stderr  # 5 pictures, 3 documents, 8 CSVs


@pytest.mark.parametrize("fmt", ["markdown", "csv", "html"])
def test_every_format(monkeypatch, capsys, fmt):
    code, out, _ = run_main(monkeypatch, capsys, "compare", STUDY, "--format", fmt)
    assert code == 0 and out
    if fmt == "csv":
        assert out.splitlines()[0].startswith("graph_hash,architecture,label")
    else:
        assert "principled vs tuned differ in more than how the LR is chosen" in out
        assert "Search budgets" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "nope"], "archscale: error: no study 'nope' in sqlite:///"),
        (["compare", STUDY, "--format", "xml"], "archscale: error: unknown format 'xml'; known: table"),
        (["compare", STUDY, "--metric", "f1"], "archscale: error: unknown metric 'f1'; known: test_acc"),
    ],
)
def test_user_errors_are_one_line(monkeypatch, capsys, args, message):
    code, out, err = run_main(monkeypatch, capsys, *args)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1, err
    assert "Traceback" not in err and out == ""


def test_the_end_of_a_run_prints_the_table(capsys):
    print_comparison(STUDY, "sqlite:///results.db")
    out = capsys.readouterr().out
    assert "hand (completed)" in out and "2_22" in out
    print_comparison("nope", "sqlite:///results.db")  # never raises: the study's results are already stored
    captured = capsys.readouterr()
    assert captured.out == "" and "cannot compare nope: no study 'nope'" in captured.err
