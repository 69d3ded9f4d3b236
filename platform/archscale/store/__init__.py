"""The results database: SQLAlchemy models, engines from URLs, migrations, the single writer, frames
for reading, and read-only SQL; a benchmark's published results read from its files into rows to
store (`archscale.store.benchmark_files`).

SQLite (WAL) is the embedded default, PostgreSQL (psycopg 3) the cluster database; both hold the
same `archscale_*` tables, beside Optuna's own tables on the same URL.
"""

from importlib import import_module
from typing import Any

from archscale.vocabulary import Phase, StudyStatus, TrialStatus

_EXPORTS = {
    "make_engine": "engine",
    "run_key": "models",
    "current_revision": "migrate",
    "ensure_schema": "migrate",
    "head_revision": "migrate",
    "require_schema": "migrate",
    "upgrade": "migrate",
    "closing_optuna_storage": "optuna_rdb",
    "optuna_storage": "optuna_rdb",
    "QueryResult": "query",
    "run_query": "query",
    "StudyPlan": "read",
    "read_architectures": "read",
    "read_benchmark": "read",
    "read_epochs": "read",
    "read_plan": "read",
    "read_studies": "read",
    "read_trials": "read",
    "finished_keys": "read",
    "DEFAULT_URL": "url",
    "ENV_VAR": "url",
    "mask_url": "url",
    "resolve_url": "url",
    "BenchmarkRow": "writer",
    "StudyConflict": "writer",
    "TrialFields": "writer",
    "Writer": "writer",
    "yaml_sha256": "writer",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so that a command pays only for the parts of the store it touches (the
    driver checks a URL long before it needs Alembic or pandas)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "BenchmarkRow",
    "Phase",
    "QueryResult",
    "StudyConflict",
    "StudyPlan",
    "StudyStatus",
    "TrialFields",
    "TrialStatus",
    "Writer",
    "closing_optuna_storage",
    "current_revision",
    "ensure_schema",
    "finished_keys",
    "head_revision",
    "make_engine",
    "mask_url",
    "optuna_storage",
    "read_architectures",
    "read_benchmark",
    "read_epochs",
    "read_plan",
    "read_studies",
    "read_trials",
    "require_schema",
    "resolve_url",
    "run_key",
    "run_query",
    "upgrade",
    "yaml_sha256",
]
