"""Schema migrations: the Alembic scripts shipped as `archscale.migrations` (the source tree's `db/`).

Our revisions are recorded in `archscale_alembic_version`, apart from Optuna's `alembic_version`,
so that both schemas can share one database. Each check-and-upgrade runs in one transaction under
a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so concurrent processes opening the
same new database create the schema once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from archscale.errors import UserError
from archscale.store.url import shown

VERSION_TABLE = "archscale_alembic_version"
_PG_LOCK_KEY = 0x61726368  # "arch": serialises schema changes between archscale processes


def _config(connection: Connection | None = None) -> Config:
    config = Config(str(files("archscale.migrations").joinpath("alembic.ini")))
    config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _script().walk_revisions())


def head_revision() -> str:
    """The newest schema revision this archscale knows."""
    head = _script().get_current_head()
    assert head is not None, "archscale.migrations has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None when it has no archscale schema."""
    with engine.connect() as connection:
        return _revision(connection)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the schema to head; return (revision before, revision after)."""
    with engine.connect() as connection, _sqlite_foreign_keys_off(connection), connection.begin():
        _lock(connection)
        before = _revision(connection)
        _check_known(before, engine)
        if before != head_revision():
            command.upgrade(_config(connection), "head")
    return before, head_revision()


@contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite migrations recreate tables (batch mode); with foreign keys on, dropping the old table would
    cascade-delete the rows that reference it. Switch them off for the migration (outside its transaction,
    where SQLite honours the pragma), check the result, and switch them on again."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left {len(broken)} rows whose foreign keys point nowhere: {broken[:3]}")
    finally:
        raw.execute("PRAGMA foreign_keys = ON")


def ensure_schema(engine: Engine, *, upgrade: bool = False) -> None:
    """Make sure the schema is at head, or say how to get there.

    At head: nothing. A SQLite database without archscale tables (a new file): created at head.
    Behind, or a PostgreSQL database without archscale tables: upgraded when `upgrade` is true,
    otherwise UserError naming `archscale db upgrade` and `--upgrade-db`. A revision this archscale
    does not know (written by a newer one): UserError.
    """
    with engine.begin() as connection:
        _lock(connection)
        revision = _revision(connection)
        if revision == head_revision():
            return
        _check_known(revision, engine)
        if not (upgrade or (revision is None and engine.dialect.name == "sqlite")):
            raise UserError(_behind(engine, revision))
        command.upgrade(_config(connection), "head")


def require_schema(engine: Engine) -> None:
    """For readers: UserError unless the schema is at head (nothing is changed)."""
    revision = current_revision(engine)
    if revision == head_revision():
        return
    if revision is None:
        raise UserError(f"{shown(engine.url)} holds no archscale results (no archscale tables)")
    _check_known(revision, engine)
    raise UserError(_behind(engine, revision))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _check_known(revision: str | None, engine: Engine) -> None:
    if revision is not None and revision not in _known_revisions():
        raise UserError(
            f"{shown(engine.url)} has archscale schema revision {revision}, newer than this archscale "
            f"knows (head {head_revision()}); upgrade archscale"
        )


def _behind(engine: Engine, revision: str | None) -> str:
    where = shown(engine.url)
    state = "has no archscale schema" if revision is None else f"is at archscale schema revision {revision}"
    password = " (with the real password)" if engine.url.password else ""
    return (
        f"{where} {state}; this archscale needs revision {head_revision()}: run "
        f"`archscale db upgrade --db {where}`{password} or pass --upgrade-db"
    )
