"""`archscale db upgrade|current`, `studies`, `results` and `query` on both backends: output formats,
one-line errors with exit status 2, read-only queries, and passwords never printed."""

import csv
import io
import json
import subprocess
import sys

import pytest
from sqlalchemy import make_url, text

from archscale.store import Writer, make_engine
from archscale.vocabulary import Phase, RunKey


@pytest.fixture(scope="module")
def filled(module_results_url):
    with Writer(module_results_url) as writer:
        study = writer.ensure_study("cmp", "name: cmp\n")
        writer.upsert_architecture("h", "2_02_002", "mlp")
        for seed, lr in enumerate([0.1, 0.02]):
            trial = writer.upsert_trial(
                study, RunKey("h", "tuned", Phase.SEARCH, seed), "tuned", status="completed",
                val_accuracy=0.5 + seed / 10, hyperparameters={"lr": lr, "init": "kaiming"},
            )
            writer.add_epoch(trial, 1, val_accuracy=0.5)
    return module_results_url


def password_of(url: str) -> str | None:
    return make_url(url).password


def assert_hidden(url: str, *outputs: str) -> None:
    password = password_of(url)
    if password:
        assert all(password not in output for output in outputs)


def test_db_upgrade_and_current(cli, db_url):
    code, out, err = cli("db", "current", "--db", db_url)
    if db_url.startswith("sqlite"):  # `current` never creates a file
        assert code == 2 and "no SQLite database at" in err
    else:
        assert code == 0 and "no archscale schema" in out and "archscale db upgrade" in out
    code, out, err = cli("db", "upgrade", "--db", db_url)
    assert code == 0 and "upgraded from an empty schema to revision 0007" in out, err
    code, out, _ = cli("db", "upgrade", "--db", db_url)
    assert code == 0 and "already at revision 0007" in out
    code, out, _ = cli("db", "current", "--db", db_url)
    assert code == 0 and out.strip().endswith("revision 0007 (current)")
    assert_hidden(db_url, out, err)


def test_default_database_is_archscale_db_in_the_working_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARCHSCALE_DB", raising=False)
    assert cli("db", "upgrade")[0] == 0
    assert (tmp_path / "archscale.db").is_file()
    monkeypatch.setenv("ARCHSCALE_DB", f"sqlite:///{tmp_path / 'other.db'}")
    code, _, err = cli("studies")
    assert code == 2 and "no SQLite database at" in err and "other.db" in err


def test_studies(cli, filled):
    code, out, err = cli("studies", "--db", filled)
    assert code == 0 and "cmp" in out and "completed" in out, err
    code, out, _ = cli("studies", "--db", filled, "--format", "json")
    [study] = json.loads(out)
    assert study["name"] == "cmp" and study["trials"] == 2 and study["yaml_text"] == "name: cmp\n"
    assert_hidden(filled, out)


def test_results_in_three_formats(cli, filled):
    code, out, _ = cli("results", "cmp", "--db", filled)
    assert code == 0 and "2_02_002" in out and "hp_lr" in out and "yaml" not in out
    code, out, _ = cli("results", "cmp", "--db", filled, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["hp_lr"]) for r in rows] == [0.1, 0.02] and rows[0]["hp_init"] == "kaiming"
    assert rows[0]["test_accuracy"] == ""
    code, out, _ = cli("results", "cmp", "--db", filled, "-f", "json")
    records = json.loads(out)
    assert [r["val_accuracy"] for r in records] == [0.5, 0.6] and records[0]["test_accuracy"] is None
    assert records[0]["started_at"] is None and records[0]["status"] == "completed"


def test_results_of_an_unknown_study(cli, filled):
    code, out, err = cli("results", "nope", "--db", filled)
    assert code == 2 and out == ""
    assert err.startswith("archscale: error: no study 'nope' in ") and err.count("\n") == 1
    assert_hidden(filled, err)


def test_query_formats(cli, filled):
    sql = "SELECT study, lr, status FROM archscale_results ORDER BY lr"
    code, out, _ = cli("query", sql, "--db", filled, "-f", "json")
    assert code == 0 and json.loads(out) == [
        {"study": "cmp", "lr": 0.02, "status": "completed"},
        {"study": "cmp", "lr": 0.1, "status": "completed"},
    ]
    code, out, _ = cli("query", "SELECT 1 AS a, 2 AS a", "--db", filled, "-f", "json")
    assert json.loads(out) == [{"a": 1, "a_2": 2}]
    code, out, _ = cli("query", sql, "--db", filled, "-f", "csv")
    assert out.splitlines() == ["study,lr,status", "cmp,0.02,completed", "cmp,0.1,completed"]
    code, out, _ = cli("query", sql, "--db", filled)
    assert code == 0 and "0.02" in out


@pytest.mark.parametrize(
    "sql", ["DROP TABLE archscale_trial", "DELETE FROM archscale_epoch", "UPDATE archscale_trial SET seed = 5"]
)
def test_query_writes_fail_with_one_line_and_change_nothing(cli, filled, sql):
    code, out, err = cli("query", sql, "--db", filled)
    assert code == 2 and out == ""
    assert err.startswith("archscale: error: archscale query is read-only:") and err.count("\n") == 1
    assert_hidden(filled, err)
    engine = make_engine(filled)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM archscale_epoch")).scalar_one() == 2
        assert connection.execute(text("SELECT max(seed) FROM archscale_trial")).scalar_one() == 1
    engine.dispose()


def test_query_errors_are_the_database_message_in_one_line(cli, filled):
    code, _, err = cli("query", "SELEC nonsense", "--db", filled)
    assert code == 2 and err.startswith("archscale: error: query failed: ") and err.count("\n") == 1
    assert "syntax error" in err


def test_the_installed_command_exits_2_without_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'results.db'}"
    with Writer(url) as writer:
        writer.ensure_study("s", "a: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "archscale.cli", "query", "DROP TABLE archscale_epoch", "--db", url],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "archscale: error: archscale query is read-only: DROP TABLE is not allowed\n"


def test_help_never_shows_the_password_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("ARCHSCALE_DB", "postgresql://user:hunter2@db.example/results")
    for command in (["query", "--help"], ["results", "--help"], ["db", "upgrade", "--help"]):
        code, out, err = cli(*command)
        assert code == 0 and "ARCHSCALE_DB" in out and "hunter2" not in out + err
