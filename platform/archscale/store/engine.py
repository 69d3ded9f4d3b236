"""One function turns a database URL into a SQLAlchemy engine, with the settings archscale relies on.

SQLite (a file): WAL journal with synchronous=NORMAL, a 30 s busy timeout and foreign keys on. Write
transactions begin IMMEDIATE, so concurrent writers queue on the busy timeout instead of failing on
a lock upgrade. PostgreSQL: psycopg 3 with `pool_pre_ping` and a 10 s connect timeout.

A read-only engine is read-only whatever the SQL: SQLite opens the existing file with `mode=ro`,
`query_only` on and an authorizer that refuses every write, ATTACH/DETACH and PRAGMA assignment;
PostgreSQL sessions start every transaction READ ONLY.

`make_engine` connects once, so a bad URL, a missing file or an unreachable server fails right away
with a one-line UserError that never shows the password.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from archscale.errors import UserError
from archscale.store.url import parse_url, scrub, shown, sqlite_path

BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10

# Authorizer action codes a read-only connection refuses, by the name its error message uses.
_WRITE_ACTIONS = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in [
        "INSERT", "UPDATE", "DELETE", "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMP_INDEX", "CREATE_TEMP_TABLE",
        "CREATE_TEMP_TRIGGER", "CREATE_TEMP_VIEW", "CREATE_TRIGGER", "CREATE_VIEW", "CREATE_VTABLE", "DROP_INDEX",
        "DROP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_TABLE", "DROP_TEMP_TRIGGER", "DROP_TEMP_VIEW", "DROP_TRIGGER",
        "DROP_VIEW", "DROP_VTABLE", "ALTER_TABLE", "REINDEX", "ANALYZE", "ATTACH", "DETACH",
    ]
}
# CREATE and DROP first ask to change the schema table; allowing that lets the statement's own check
# name it (the schema table itself cannot be written anyway).
_SCHEMA_TABLES = frozenset(["sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"])
# Pragmas that take an argument yet only read.
_READING_PRAGMAS = frozenset(
    [
        "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
        "foreign_key_check", "integrity_check", "quick_check",
    ]
)


class ReadOnlySQLite(sqlite3.Connection):
    """A SQLite connection that refuses writes; `denied` names the last refused action."""

    denied: str | None = None

    def authorize(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
        if action in _WRITE_ACTIONS and (arg1 or "").lower() not in _SCHEMA_TABLES:
            self.denied = _WRITE_ACTIONS[action]
        elif action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() not in _READING_PRAGMAS:
            self.denied = f"PRAGMA {arg1} assignment"
        else:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url` (see the module docstring), checked by connecting once.

    A read-only SQLite engine needs the file to exist; a writable one creates it. Raise UserError
    on any problem a user can fix.
    """
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, read_only)
    else:
        engine = _postgresql_engine(parsed, read_only)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise UserError(f"cannot open database {shown(parsed)}: {_error_line(exc, parsed)}") from None
    return engine


def _error_line(exc: DBAPIError, url: URL) -> str:
    """The database's own message of `exc` on one line, password scrubbed."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)  # psycopg: the primary message without hints and context
    message = getattr(diag, "message_primary", None) or str(orig)
    return scrub(message, url)


def _sqlite_engine(url: URL, read_only: bool) -> Engine:
    path = sqlite_path(url)
    if read_only:
        if not path.is_file():
            raise UserError(f"no SQLite database at {path}")
        uri = f"file:{quote(str(path))}?mode=ro"

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=ReadOnlySQLite
            )
            conn.execute("PRAGMA query_only = ON")
            conn.set_authorizer(conn.authorize)
            return conn

        return create_engine(url, creator=connect, poolclass=NullPool)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN instead
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgresql_engine(url: URL, read_only: bool) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    if read_only:
        given = url.query.get("options")  # keep the URL's own options (a search_path, say)
        connect_args["options"] = " ".join(filter(None, [given, "-c default_transaction_read_only=on"]))
        return create_engine(url, connect_args=connect_args, poolclass=NullPool)
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)
