"""Migrations on both backends: automatic creation (SQLite), clear messages, upgrades from the first
revision with data kept, models identical to the migrated schema, and coexistence with Optuna."""

import shutil
import sqlite3
from importlib.resources import files
from pathlib import Path

import optuna
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from archscale.errors import UserError
from archscale.store import current_revision, ensure_schema, head_revision, make_engine, optuna_storage, upgrade
from archscale.store.migrate import VERSION_TABLE, _config
from archscale.store.models import Base

TABLES = {
    "archscale_study",
    "archscale_architecture",
    "archscale_trial",
    "archscale_epoch",
    "archscale_study_architecture",
    "archscale_study_arm",
    "archscale_study_search",
    "archscale_choice",
    "archscale_benchmark_result",
}
RELEASE_1 = Path(__file__).parent / "fixtures" / "release1.sqlite"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def upgrade_to(engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def test_migrations_ship_in_the_package():
    package = files("archscale.migrations")
    for name in ("alembic.ini", "env.py", "script.py.mako", "versions/0001_core_tables.py"):
        assert package.joinpath(name).is_file(), name
    assert head_revision() == "0007"


def test_new_database_at_head_or_a_message_naming_the_command(db_url):
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    if is_postgres(db_url):
        with pytest.raises(UserError) as info:
            ensure_schema(engine)
        message = str(info.value)
        assert "has no archscale schema" in message and "archscale db upgrade --db postgresql" in message
        assert "--upgrade-db" in message and ":***@" in message and "\n" not in message
        assert current_revision(engine) is None
        ensure_schema(engine, upgrade=True)
    else:
        ensure_schema(engine)  # a new SQLite database is created at head
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    ensure_schema(engine)  # at head: nothing to do
    engine.dispose()


def test_upgrade_from_the_first_revision_keeps_data(db_url):
    engine = make_engine(db_url)
    upgrade_to(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO archscale_study (id, name, yaml_text, yaml_sha256, status, created_at, package_version) "
                "VALUES (1, 's', 'x: 1', 'h', 'completed', CURRENT_TIMESTAMP, '0.1.0')"
            )
        )
        connection.execute(
            text("INSERT INTO archscale_architecture (id, graph_hash, notation, family) VALUES (1, 'g', '2', 'mlp')")
        )
        connection.execute(
            text(
                "INSERT INTO archscale_trial (id, study_id, architecture_id, strategy, phase, seed, trial_number,"
                " hyperparameters, status) VALUES (1, 1, 1, 'tuned', 'search', 0, 0, '{\"lr\": 0.25}', 'completed')"
            )
        )
    with pytest.raises(UserError, match="is at archscale schema revision 0001; this archscale needs revision 0007"):
        ensure_schema(engine)  # behind: SQLite too is upgraded only when asked
    assert upgrade(engine) == ("0001", "0007")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT study, architecture, lr, status FROM archscale_results")).one()
    assert tuple(row) == ("s", "2", 0.25, "completed")
    assert "ix_archscale_trial_study_arm" in {i["name"] for i in inspect(engine).get_indexes("archscale_trial")}
    assert upgrade(engine) == ("0007", "0007")
    engine.dispose()


def test_models_match_the_migrated_schema(db_url):
    engine = make_engine(db_url)
    ensure_schema(engine, upgrade=True)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or name.startswith("archscale_"),
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_a_newer_schema_is_refused(db_url):
    engine = make_engine(db_url)
    ensure_schema(engine, upgrade=True)
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    for check in (lambda: ensure_schema(engine, upgrade=True), lambda: upgrade(engine)):
        with pytest.raises(UserError, match="revision 9999, newer than this archscale knows"):
            check()
    engine.dispose()


@pytest.mark.parametrize("optuna_first", [True, False], ids=["optuna-first", "archscale-first"])
def test_optuna_and_archscale_share_a_database(db_url, optuna_first):
    def create_optuna() -> None:
        study = optuna.create_study(study_name="shared", storage=optuna_storage(db_url))
        study.enqueue_trial({"lr": 0.1})
        study.optimize(lambda trial: trial.suggest_float("lr", 1e-4, 1.0, log=True), n_trials=2)

    engine = make_engine(db_url)
    if optuna_first:
        create_optuna()
    ensure_schema(engine, upgrade=True)
    if not optuna_first:
        create_optuna()
    tables = set(inspect(engine).get_table_names())
    assert TABLES | {"studies", "trials", "alembic_version", VERSION_TABLE} <= tables
    assert current_revision(engine) == head_revision()
    engine.dispose()
    loaded = optuna.load_study(study_name="shared", storage=db_url)  # a plain URL, as the dashboard uses
    assert [t.params["lr"] for t in loaded.trials][:1] == [0.1] and len(loaded.trials) == 2


def test_a_release_1_database_upgrades_with_every_row_kept(tmp_path):
    """tests/fixtures/release1.sqlite was written by release 1 (revision 0003): two studies over shared
    graphs, official convention at width 16 and paper convention at width 8 (see fixtures/README.md)."""
    path = tmp_path / "old.sqlite"
    shutil.copy(RELEASE_1, path)
    tables = ("archscale_study", "archscale_architecture", "archscale_trial", "archscale_epoch", "trials", "studies")
    with sqlite3.connect(path) as connection:
        before = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        strategies = connection.execute("SELECT id, strategy FROM archscale_trial ORDER BY id").fetchall()
        epochs = connection.execute("SELECT * FROM archscale_epoch ORDER BY trial_id, epoch").fetchall()
    engine = make_engine(f"sqlite:///{path}")
    assert upgrade(engine) == ("0003", "0007")
    engine.dispose()
    with sqlite3.connect(path) as connection:
        after = {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        arms = connection.execute("SELECT id, arm, kind, repeat FROM archscale_trial ORDER BY id").fetchall()
        kept = connection.execute(
            "SELECT trial_id, epoch, train_loss, train_accuracy, val_loss, val_accuracy, test_loss, test_accuracy, lr,"
            " seconds FROM archscale_epoch ORDER BY trial_id, epoch"
        ).fetchall()
        scales = dict(
            connection.execute(
                "SELECT s.name || ' ' || a.notation, sa.principled_scale FROM archscale_study_architecture sa"
                " JOIN archscale_study s ON s.id = sa.study_id"
                " JOIN archscale_architecture a ON a.id = sa.architecture_id"
            ).fetchall()
        )
        widths = set(connection.execute("SELECT study_id, width FROM archscale_study_architecture").fetchall())
    assert after == before and before["archscale_trial"] == 37 and before["archscale_epoch"] == 62
    assert [(i, s, s, 0) for i, s in strategies] == arms
    assert kept == [row[:2] + row[2:] for row in epochs]
    # each study has its own statistics under its own convention (release 1 kept the last writer's)
    assert scales["release1-official 2_02"] == pytest.approx(0.464758, rel=1e-5)
    assert scales["release1-paper-probe 2_02"] == pytest.approx(0.19245, rel=1e-4)
    assert widths == {(1, 16), (2, 8)}
    from archscale.store import read_plan

    plan = read_plan(f"sqlite:///{path}", "release1-official")
    assert list(plan.arms["arm"]) == ["fixed", "principled", "tuned"] and plan.seeds == (0, 1)
    base = plan.searches[plan.searches["phase"] == "base-search"].iloc[0]
    assert base["arms"] == ("principled", "fixed") and base["scope"] == "study"
    assert len(plan.choices) == 9


def test_revision_0007_marks_every_existing_study_real_and_the_view_carries_the_flag(db_url):
    engine = make_engine(db_url)
    upgrade_to(engine, "0006")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO archscale_study (id, name, yaml_text, yaml_sha256, status, created_at, package_version) "
                "VALUES (1, 'real', 'x: 1', 'h', 'completed', CURRENT_TIMESTAMP, '0.1.0')"
            )
        )
        connection.execute(
            text("INSERT INTO archscale_architecture (id, graph_hash, notation, family) VALUES (1, 'g', '2', 'mlp')")
        )
        connection.execute(
            text(
                "INSERT INTO archscale_trial (id, study_id, architecture_id, arm, kind, phase, seed, trial_number,"
                " repeat, hyperparameters, status) VALUES (1, 1, 1, 'tuned', 'tuned', 'search', 0, 0, 0,"
                " '{\"lr\": 0.25}', 'completed')"
            )
        )
    assert upgrade(engine) == ("0006", "0007")
    with engine.connect() as connection:
        study = connection.execute(text("SELECT name, status, simulated FROM archscale_study")).one()
        view = connection.execute(text("SELECT study, lr, simulated FROM archscale_results")).one()
    assert tuple(study) == ("real", "completed", False) and tuple(view) == ("real", 0.25, False)
    from alembic import command

    with engine.begin() as connection:  # and back: the downgrade drops the column and restores the view
        command.downgrade(_config(connection), "0006")
    with engine.connect() as connection:
        assert "simulated" not in {c["name"] for c in inspect(engine).get_columns("archscale_study")}
        assert connection.execute(text("SELECT count(*) FROM archscale_results")).scalar_one() == 1
    engine.dispose()
