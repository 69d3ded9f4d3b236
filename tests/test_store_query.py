"""`run_query` is read-only whatever the SQL, on SQLite and PostgreSQL, and errors are one line."""

import pytest
from sqlalchemy import text

from archscale.errors import UserError
from archscale.store import Writer, make_engine, run_query
from archscale.vocabulary import Phase, RunKey

WRITES = [
    "DELETE FROM archscale_epoch",
    "DROP TABLE archscale_epoch",
    "INSERT INTO archscale_study (name, yaml_text, yaml_sha256, status, created_at, package_version)"
    " VALUES ('x', '', '', 'running', CURRENT_TIMESTAMP, '0')",
    "UPDATE archscale_trial SET seed = 99",
    "CREATE TABLE evil (x int)",
    "CREATE TEMP TABLE evil (x int)",
    "ALTER TABLE archscale_trial ADD COLUMN evil int",
    "ATTACH DATABASE 'evil.db' AS evil",
    "VACUUM INTO 'copy.db'",
    "PRAGMA user_version = 7",
    "PRAGMA journal_mode = DELETE",
    "SELECT 1; DELETE FROM archscale_epoch",
]


@pytest.fixture(scope="module")
def filled(module_results_url):
    """One database for the module: every test checks that it stays unchanged."""
    with Writer(module_results_url) as writer:
        study = writer.ensure_study("s", "a: 1\n")
        writer.upsert_architecture("h", "2", "mlp")
        trial = writer.upsert_trial(study, RunKey("h", "fixed", Phase.FINAL, 0), "fixed")
        for epoch in range(1, 4):
            writer.add_epoch(trial, epoch, val_accuracy=epoch / 10)
    return module_results_url


def snapshot(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as connection:
        epochs = text("SELECT trial_id, epoch, val_accuracy FROM archscale_epoch ORDER BY epoch")
        rows = connection.execute(epochs).all()
        rows.append(tuple(connection.execute(text("SELECT seed, count(*) FROM archscale_trial GROUP BY seed")).one()))
        rows.append((connection.execute(text("SELECT count(*) FROM archscale_study")).scalar_one(),))
    engine.dispose()
    return [tuple(r) for r in rows]


def test_select_returns_columns_and_rows(filled):
    result = run_query(filled, "SELECT study, architecture, status FROM archscale_results")
    assert result.columns == ["study", "architecture", "status"]
    assert result.rows == [("s", "2", "pending")]
    assert run_query(filled, "SELECT 'a%b' AS percent").rows == [("a%b",)]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_fail_in_one_line_and_change_nothing(filled, sql, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(filled)
    with pytest.raises(UserError) as info:
        run_query(filled, sql)
    assert "\n" not in str(info.value)
    assert snapshot(filled) == before
    assert not list(tmp_path.glob("evil*")) and not (tmp_path / "copy.db").exists()


def test_commit_cannot_escape_the_read_only_transaction(filled):
    before = snapshot(filled)
    try:
        run_query(filled, "COMMIT")  # PostgreSQL: ends the (read-only) transaction, and the connection closes
    except UserError as error:  # SQLite: no transaction is active
        assert "no transaction is active" in str(error)
    assert snapshot(filled) == before


def test_read_only_messages_name_the_problem(filled):
    with pytest.raises(UserError, match=r"^archscale query is read-only: .*DELETE"):
        run_query(filled, "DELETE FROM archscale_epoch")
    with pytest.raises(UserError, match=r"^query failed: .*no_such_table"):
        run_query(filled, "SELECT * FROM no_such_table")
    with pytest.raises(UserError, match="empty query"):
        run_query(filled, "  ")


def test_reading_pragmas_and_catalogs_still_work(filled):
    if filled.startswith("sqlite"):
        assert len(run_query(filled, "PRAGMA table_info(archscale_epoch)").rows) == 11
        assert run_query(filled, "PRAGMA user_version").rows == [(0,)]
    else:
        assert run_query(filled, "SHOW transaction_read_only").rows == [("on",)]
        assert run_query(filled, "EXPLAIN SELECT * FROM archscale_epoch").rows
