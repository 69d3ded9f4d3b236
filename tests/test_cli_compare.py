"""`archscale compare` as a user runs it (a real process: exit codes, no tracebacks), and the
comparison printed at the end of `archscale run`."""

import json
import subprocess
import sys

import pytest

from archscale.cli.compare_render import print_comparison

pytestmark = pytest.mark.slow
ARCHSCALE = [sys.executable, "-m", "archscale.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHSCALE, *args], capture_output=True, text=True, timeout=120, env=_env())


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "ARCHSCALE_DB"} | {"COLUMNS": "100"}


def test_table_is_the_default(small_study):
    url, name = small_study
    result = run("compare", name, "--db", url)
    assert result.returncode == 0, result.stderr
    assert "report-small (completed): test accuracy (%)" in result.stdout
    assert "principled − tuned" in result.stdout and "predicted vs probed maximal LR" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 120


def test_json_with_the_report_folder(small_study, tmp_path):
    from typer.testing import CliRunner

    from archscale.cli.app import app

    url, name = small_study
    out = tmp_path / "report"
    args = ["compare", name, "--db", url, "--format", "json", "--out", str(out), "--metric", "val_acc"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["metric"]["name"] == "val_acc" and doc["metric"]["column"] == "val_accuracy"
    assert json.loads((out / "comparison.json").read_text()) == doc
    assert (out / "report.html").is_file() and (out / "accuracy.png").is_file()
    assert f"wrote 15 files to {out}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "nope"], "archscale: error: no study 'nope' in sqlite:///"),
        (["compare", "report-small", "--format", "xml"], "archscale: error: unknown format 'xml'; known: table"),
        (["compare", "report-small", "--metric", "f1"], "archscale: error: unknown metric 'f1'; known: test_acc"),
    ],
)
def test_user_errors_are_one_line(small_study, args, message):
    url, _ = small_study
    result = run(*args, "--db", url)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_the_end_of_a_run_prints_the_table(small_study, capsys):
    url, name = small_study
    print_comparison(name, url)
    out = capsys.readouterr().out
    assert "report-small (completed)" in out and "2_22_222" in out
    print_comparison("nope", url)  # never raises: the study's results are already stored
    captured = capsys.readouterr()
    assert captured.out == "" and "cannot compare nope: no study 'nope'" in captured.err
