"""Database URLs: which one to use, how to show it, and one-line errors for bad ones.

Precedence: an explicit URL (the `--db` flag), then $ARCHSCALE_DB, then `sqlite:///archscale.db` in
the working directory. Two backends are supported: SQLite files (the embedded default) and
PostgreSQL through psycopg 3 (`postgresql://` and `postgresql+psycopg://` are the same). A password
never reaches a person: every URL shown goes through `mask_url`, every database message through
`scrub`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from archscale.errors import UserError

DEFAULT_URL = "sqlite:///archscale.db"
ENV_VAR = "ARCHSCALE_DB"
EXPECTED = "expected sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST[:PORT]/DATABASE"

# scheme://user:password@ — the password runs to the last '@' of the URL, so an unescaped '@' in it
# is masked too.
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][\w+.-]*://[^:@/\s]*:)[^\s]*@")


def resolve_url(url: str | None = None) -> str:
    """The URL to use: `url` if given, else $ARCHSCALE_DB, else the SQLite default."""
    chosen = url if url is not None else os.environ.get(ENV_VAR) or DEFAULT_URL
    chosen = chosen.strip()
    if not chosen:
        raise UserError(f"empty database URL; {EXPECTED}")
    return chosen


def mask_url(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***; works on malformed URLs too."""
    return _CREDENTIALS.sub(r"\g<head>***@", text)


def scrub(text: str, url: str | URL) -> str:
    """`text` (a database message, say) on one line with `url`'s password masked wherever it appears."""
    line = " ".join(text.split())
    try:
        password = make_url(url).password if isinstance(url, str) else url.password
    except ArgumentError:
        password = None
    if password:
        for form in {str(password), quote(str(password), safe="")}:
            line = line.replace(form, "***")
    return mask_url(line)


def parse_url(url: str) -> URL:
    """Validate `url` and return it parsed.

    Raise UserError for a malformed URL, another backend or driver, an in-memory SQLite database
    (nothing would survive the process), or a SQLite file in a directory that does not exist.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"malformed database URL '{mask_url(url)}'; {EXPECTED}") from None
    backend, shown = parsed.get_backend_name(), mask_url(url)
    if backend not in ("sqlite", "postgresql"):
        raise UserError(f"unsupported database '{backend}' in '{shown}'; {EXPECTED}")
    try:
        driver = parsed.get_driver_name()
    except NoSuchModuleError:  # a driver SQLAlchemy does not know
        driver = parsed.drivername.partition("+")[2]
    if backend == "sqlite":
        if driver != "pysqlite":
            raise UserError(f"unsupported SQLite driver '{driver}' in '{shown}'; use sqlite:///PATH")
        if parsed.database in (None, "", ":memory:") or parsed.database.startswith("file:"):
            raise UserError(f"'{shown}' is not a SQLite file; use sqlite:///PATH")
        folder = sqlite_path(parsed).parent
        if not folder.is_dir():
            raise UserError(f"directory {folder} of the SQLite database '{shown}' does not exist")
        return parsed
    if driver != "psycopg":  # PostgreSQL
        raise UserError(f"unsupported PostgreSQL driver '{driver}' in '{shown}'; use postgresql+psycopg://")
    return parsed


def sqlite_path(url: URL) -> Path:
    """The file of a SQLite URL, relative paths taken from the working directory."""
    return Path(url.database or "").absolute()


def shown(url: URL) -> str:
    """A parsed URL as people see it: password masked."""
    return url.render_as_string(hide_password=True)
