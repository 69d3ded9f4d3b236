"""The results database: SQLAlchemy models, engines from URLs, migrations, the single writer, frames
for reading, and read-only SQL.

SQLite (WAL) is the embedded default, PostgreSQL (psycopg 3) the cluster database; both hold the
same `archscale_*` tables, beside Optuna's own tables on the same URL.
"""

from archscale.store.engine import make_engine
from archscale.store.migrate import current_revision, ensure_schema, head_revision, require_schema, upgrade
from archscale.store.optuna_rdb import optuna_storage
from archscale.store.query import QueryResult, run_query
from archscale.store.read import (
    StudyPlan,
    read_architectures,
    read_benchmark,
    read_epochs,
    read_plan,
    read_studies,
    read_trials,
)
from archscale.store.url import DEFAULT_URL, ENV_VAR, mask_url, resolve_url
from archscale.store.writer import BenchmarkRow, StudyConflict, TrialFields, TrialKey, Writer, yaml_sha256
from archscale.vocabulary import Phase, StudyStatus, TrialStatus

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
    "TrialKey",
    "TrialStatus",
    "Writer",
    "current_revision",
    "ensure_schema",
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
    "run_query",
    "upgrade",
    "yaml_sha256",
]
