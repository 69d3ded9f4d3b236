"""Database URLs: precedence, validation with one-line errors, and passwords never shown."""

import pytest

from archscale.cli.options import DB_ENV_VAR
from archscale.errors import UserError
from archscale.store.url import DEFAULT_URL, ENV_VAR, mask_url, parse_url, resolve_url, scrub


def test_flag_beats_environment_beats_default(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///archscale.db"
    monkeypatch.setenv(ENV_VAR, "sqlite:///from-env.db")
    assert resolve_url(None) == "sqlite:///from-env.db"
    assert resolve_url(" sqlite:///flag.db ") == "sqlite:///flag.db"
    assert DB_ENV_VAR == ENV_VAR


def test_empty_url_is_a_user_error():
    with pytest.raises(UserError, match="empty database URL"):
        resolve_url("  ")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://user:secret@host/db", "postgresql+psycopg://user:***@host/db"),
        ("postgresql://user:p@ss/w:rd@host:5432/db", "postgresql://user:***@host:5432/db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
        ("sqlite:////tmp/a:b@c.db", "sqlite:////tmp/a:b@c.db"),
        ("cannot open postgresql://u:pw@h/d: refused", "cannot open postgresql://u:***@h/d: refused"),
    ],
)
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_scrub_removes_the_password_anywhere_and_joins_lines():
    url = "postgresql://u:s%40cret@h/d"
    assert scrub('password "s@cret" and s%40cret\n\tfailed', url) == 'password "***" and *** failed'


def test_bare_postgresql_selects_psycopg():
    assert parse_url("postgresql://u:p@h/d").get_driver_name() == "psycopg"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "malformed database URL 'not a url'"),
        ("mysql://u:secret@h/d", "unsupported database 'mysql' in 'mysql://u:***@h/d'"),
        ("postgresql+psycopg2://u:secret@h/d", "unsupported PostgreSQL driver 'psycopg2'"),
        ("sqlite://", "is not a SQLite file"),
        ("sqlite:///:memory:", "is not a SQLite file"),
        ("sqlite:////no/such/dir/x.db", "directory /no/such/dir of the SQLite database"),
    ],
)
def test_bad_urls_are_one_line_user_errors_without_the_password(url, message):
    with pytest.raises(UserError) as info:
        parse_url(url)
    assert message in str(info.value)
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("url", ["nope://x", "postgresql+nope://u@h/db", "sqlite+nope:///x.db"])
def test_a_backend_or_driver_sqlalchemy_does_not_know_is_one_clear_error(url):
    with pytest.raises(UserError, match="unsupported"):
        parse_url(url)
