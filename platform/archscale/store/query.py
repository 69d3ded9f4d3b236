"""Run one SQL statement read-only, whatever the SQL (`archscale query`).

The engine is read-only (see `make_engine`): SQLite opens the file with `mode=ro` behind an
authorizer that refuses writes, ATTACH and PRAGMA assignments; PostgreSQL runs the statement in a
READ ONLY transaction, through the extended protocol (one statement only, so nothing can COMMIT
out of it), then rolls back. Errors become a one-line UserError carrying the database's message.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from archscale.errors import UserError
from archscale.store.engine import ReadOnlySQLite, make_engine
from archscale.store.url import scrub

READ_ONLY_PG = "25006"  # SQLSTATE read_only_sql_transaction


@dataclass(frozen=True)
class QueryResult:
    """Column names (possibly repeated) and rows, as the database driver returned them."""

    columns: list[str]
    rows: list[tuple[Any, ...]]


def run_query(url: str, sql: str) -> QueryResult:
    """Run `sql` (one statement) read-only against `url` and return every row.

    Raise UserError "archscale query is read-only: ..." for an attempted change, and "query failed:
    <database message>" for any other error; the data is never changed.
    """
    if not sql.strip():
        raise UserError("empty query")
    engine = make_engine(url, read_only=True)
    try:
        raw = engine.raw_connection()
        try:
            driver = raw.driver_connection
            if isinstance(driver, ReadOnlySQLite):
                return _sqlite(driver, sql, url)
            return _postgresql(driver, sql, url)
        finally:
            raw.close()
    finally:
        engine.dispose()


def _sqlite(connection: ReadOnlySQLite, sql: str, url: str) -> QueryResult:
    connection.denied = None
    try:
        cursor = connection.execute(sql)
        return _result(cursor.description, cursor.fetchall())
    except sqlite3.Error as exc:
        if connection.denied is not None:
            raise UserError(f"archscale query is read-only: {connection.denied} is not allowed") from None
        if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
            raise UserError(f"archscale query is read-only: {scrub(str(exc), url)}") from None
        raise UserError(f"query failed: {scrub(str(exc), url)}") from None


def _postgresql(connection: Any, sql: str, url: str) -> QueryResult:
    import psycopg

    try:
        connection.execute("SET TRANSACTION READ ONLY")
        cursor = connection.cursor()
        cursor.execute(sql, prepare=True)  # prepared: the extended protocol admits one statement only
        return _result(cursor.description, cursor.fetchall() if cursor.description else [])
    except psycopg.Error as exc:
        message = scrub(exc.diag.message_primary or str(exc), url)
        if exc.sqlstate == READ_ONLY_PG:
            raise UserError(f"archscale query is read-only: {message}") from None
        raise UserError(f"query failed: {message}") from None
    finally:
        connection.rollback()


def _result(description: Any, rows: list[Any]) -> QueryResult:
    columns = [column[0] for column in description or ()]
    return QueryResult(columns, [tuple(row) for row in rows])

