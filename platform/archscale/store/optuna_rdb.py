"""Optuna's own RDB storage on the results database, so that optuna-dashboard and
`optuna.load_study(study_name=..., storage=URL)` open the studies the platform creates.

Optuna's tables (`studies`, `trials`, ..., `alembic_version`) sit beside ours (`archscale_*`, with
`archscale_alembic_version`); neither schema touches the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from archscale.store.engine import BUSY_TIMEOUT_S, CONNECT_TIMEOUT_S
from archscale.store.url import parse_url

if TYPE_CHECKING:
    from optuna.storages import RDBStorage


def optuna_storage(url: str) -> RDBStorage:
    """Optuna's RDB storage on `url` (validated as for `make_engine`), with the same busy timeout
    on SQLite and pre-ping and connect timeout on PostgreSQL as archscale's own engines."""
    from optuna.storages import RDBStorage

    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine_kwargs = {"connect_args": {"timeout": BUSY_TIMEOUT_S}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return RDBStorage(url, engine_kwargs=engine_kwargs)


@contextmanager
def closing_optuna_storage(url: str) -> Iterator[RDBStorage]:
    """`optuna_storage(url)`, its connections closed when the block ends."""
    storage = optuna_storage(url)
    try:
        yield storage
    finally:
        storage.engine.dispose()
