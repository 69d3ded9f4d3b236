"""make_engine: SQLite settings, read-only engines, and one-line errors that hide the password."""

import socket

import pytest
from sqlalchemy import make_url, text

from archscale.errors import UserError
from archscale.store import make_engine


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == 30_000
        assert pragma("synchronous") == 1  # NORMAL
    engine.dispose()
    assert (tmp_path / "a.db").exists()


def test_read_only_sqlite_needs_the_file_and_creates_nothing(tmp_path):
    with pytest.raises(UserError, match="no SQLite database at"):
        make_engine(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_unreachable_server_is_one_line_without_password():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError) as info:
        make_engine(f"postgresql+psycopg://user:hunter2@127.0.0.1:{port}/db")
    message = str(info.value)
    assert message.startswith(f"cannot open database postgresql+psycopg://user:***@127.0.0.1:{port}/db:")
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.postgres
def test_wrong_password_is_one_line_without_password(postgres):
    url = make_url(postgres).set(password="wrong-secret").render_as_string(hide_password=False)
    with pytest.raises(UserError, match="password authentication failed") as info:
        make_engine(url)
    assert "wrong-secret" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.postgres
def test_read_only_postgresql_sessions(postgres):
    engine = make_engine(postgres, read_only=True)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW transaction_read_only")).scalar() == "on"
    engine.dispose()
