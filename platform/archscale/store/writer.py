"""The single writer of the results database, used by the driver (never by workers).

Contract:
- One Writer per driver process; it is not thread-safe.
- Lazy: the engine is opened, and the schema checked (see `ensure_schema`), on first use, never in
  `__init__`; pickling drops the engine. A Writer can therefore be handed to `tune.Tuner`, which
  pickles its callbacks when built.
- Idempotent: rows are upserted on natural keys: a study on its name, an architecture on its graph
  hash, a trial on its run's key within its study (`RunKey`, see `key_columns`), an epoch on (trial,
  epoch), a plan row on (study, architecture | arm | search name), a choice on (study, arm,
  architecture, repeat), a benchmark result on (benchmark, dataset, architecture, seed, epochs).
  Writing a key again leaves one row holding the latest values: for a trial, the fields given in the
  latest call.
- Transactions: every call is one transaction. Epochs are buffered and written in batches: when
  `batch_size` rows are waiting, when the oldest has waited `max_delay_s`, on `flush()` and
  `close()`, and at the start of every other write's transaction, so a trial stored as finished
  has all its epochs stored. A transaction that raises keeps the buffer for the next.
- Values: numbers may be numpy scalars; NaN metrics are stored as NULL (SQLite cannot store NaN);
  hyperparameters must be JSON with finite numbers; datetimes must be aware.
- Errors: StudyConflict (a UserError) when a study name is taken by another YAML; ValueError or
  TypeError for values no caller should pass.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import Engine, Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import archscale
from archscale.errors import UserError
from archscale.store.engine import make_engine
from archscale.store.migrate import ensure_schema
from archscale.store.models import (
    BENCHMARK_KEY,
    NATURAL_KEY,
    Architecture,
    BenchmarkResult,
    Choice,
    Epoch,
    Study,
    StudyArchitecture,
    StudyArm,
    StudySearch,
    Trial,
    key_columns,
)
from archscale.store.models.base import utcnow
from archscale.store.url import mask_url
from archscale.vocabulary import RunKey, StudyStatus, TrialStatus

EPOCH_METRICS = (
    "train_loss",
    "train_loss_tail",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "lr",
    "seconds",
)
EPOCH_COLUMNS = ("trial_id", "epoch", *EPOCH_METRICS)
INTERRUPTED = "interrupted: the driver stopped while the trial was running"
ChosenLR = tuple[str, int, int, float, str | None, str]
"""An arm's chosen LR as `record_choices` stores it: (arm, architecture id, repeat, lr, search, source)."""

# PostgreSQL takes a batch of epochs as one statement over arrays (unnest): about twice as fast as executemany.
_PG_EPOCH_UPSERT = text(
    f"INSERT INTO {Epoch.__tablename__} ({', '.join(EPOCH_COLUMNS)}) "
    "SELECT * FROM unnest(CAST(:trial_id AS integer[]), CAST(:epoch AS integer[]), "
    + ", ".join(f"CAST(:{name} AS float8[])" for name in EPOCH_METRICS)
    + ") ON CONFLICT (trial_id, epoch) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in EPOCH_METRICS)
)


class StudyConflict(UserError):
    """A study of that name exists with a different YAML."""


@dataclass(frozen=True)
class BenchmarkRow:
    """One published result to store: the architecture (graph hash, notation, family), the dataset
    (archscale's name), seed, epochs, test accuracy as a fraction in [0, 1], and its source."""

    graph_hash: str
    notation: str
    family: str
    dataset: str
    seed: int
    epochs: int
    test_accuracy: float
    source: str


class TrialFields(TypedDict, total=False):
    """The trial columns a caller may set; keys left out keep their stored values."""

    hyperparameters: dict[str, Any]
    status: TrialStatus | str
    budget_reached: int | None
    selected_epoch: int | None
    val_loss: float | None
    val_accuracy: float | None
    test_loss: float | None
    test_accuracy: float | None
    device_kind: str | None
    device_seconds: float | None
    wall_seconds: float | None
    started_at: datetime | None
    finished_at: datetime | None
    ray_trial_id: str | None
    node_id: str | None
    optuna_study: str | None
    error: str | None
    same_run_as: str | None


_INT_FIELDS = frozenset({"budget_reached", "selected_epoch"})
_FLOAT_FIELDS = frozenset({"val_loss", "val_accuracy", "test_loss", "test_accuracy", "device_seconds", "wall_seconds"})


def yaml_sha256(yaml_text: str) -> str:
    """The hash that identifies a study's YAML."""
    return hashlib.sha256(yaml_text.encode()).hexdigest()


class Writer:
    """Writes studies, architectures, trials and epochs to the database at `url` (contract above).

    `upgrade_db` lets the first use upgrade a database whose schema is behind (`--upgrade-db`).
    """

    def __init__(self, url: str, *, upgrade_db: bool = False, batch_size: int = 1000, max_delay_s: float = 5.0) -> None:
        self.url = url
        self.upgrade_db = upgrade_db
        self.batch_size = batch_size
        self.max_delay_s = max_delay_s
        self._engine: Engine | None = None
        self._epochs: dict[tuple[int, int], dict[str, Any]] = {}
        self._parameter_counts: dict[tuple[int, int], int] = {}
        self._oldest: float = 0.0
        self._trial_ids: set[int] = set()
        self._arch_ids: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Writer({mask_url(self.url)!r}, {len(self._epochs)} epochs buffered)"

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_engine": None}

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        """The engine, opened on first use with the schema checked or created."""
        if self._engine is None:
            engine = make_engine(self.url)
            try:
                ensure_schema(engine, upgrade=self.upgrade_db)
            except BaseException:
                engine.dispose()
                raise
            self._engine = engine
        return self._engine

    def ensure_study(
        self,
        name: str,
        yaml_text: str,
        *,
        package_version: str = archscale.__version__,
        git_revision: str | None = None,
        host: str | None = None,
        devices: str | None = None,
        simulated: bool = False,
    ) -> int:
        """Create the study, or reopen it (status running) when it exists with the same YAML; return its id.
        `simulated` marks a study run by `archscale run --simulate`.

        Raise StudyConflict when the name is taken by a study with a different YAML, and UserError when
        it is taken by a simulated study and this one is real, or the other way round.
        """
        digest = yaml_sha256(yaml_text)
        about = {"package_version": package_version, "git_revision": git_revision, "host": host, "devices": devices}
        with self._transaction() as session:
            insert = self._insert(Study.__table__).values(
                name=name,
                yaml_text=yaml_text,
                yaml_sha256=digest,
                status=StudyStatus.RUNNING.value,
                created_at=utcnow(),
                simulated=simulated,
                **about,
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            study = Study.find(session, name)
            assert study is not None
            if study.simulated != simulated:
                kinds = ("simulated", "real") if study.simulated else ("real", "simulated")
                raise UserError(
                    f"study '{name}' in {mask_url(self.url)} is {kinds[0]}: a {kinds[1]} run cannot add to it; "
                    "run it under another name (--new-name)"
                )
            if study.yaml_sha256 != digest:
                raise StudyConflict(
                    f"study '{name}' already exists in {mask_url(self.url)} with another YAML (sha256 "
                    f"{study.yaml_sha256[:12]}, this one {digest[:12]}); resume it with its own YAML or rename it"
                )
            study.status, study.finished_at = StudyStatus.RUNNING.value, None
            for key, value in about.items():
                setattr(study, key, value)
            return study.id

    def upsert_architecture(
        self, graph_hash: str, notation: str, family: str, *, kernel_size: int | None = None
    ) -> int:
        """Store an architecture graph keyed by its hash (shared by every study) and return its id."""
        return self.upsert_architectures([(graph_hash, notation, family, kernel_size)])[graph_hash]

    def upsert_architectures(
        self, architectures: Sequence[tuple[str, str, str, int | None]], chunk: int = 1000
    ) -> dict[str, int]:
        """`upsert_architecture` for many (graph hash, notation, family, kernel size) in one transaction,
        `chunk` rows per statement; their ids by graph hash."""
        table = Architecture.__table__
        rows = [
            {"graph_hash": h, "notation": n, "family": str(f), "kernel_size": _int(k)} for h, n, f, k in architectures
        ]
        ids: dict[str, int] = {}
        with self._transaction() as session:
            for start in range(0, len(rows), chunk):
                insert = self._insert(table).values(rows[start : start + chunk])
                changes = {"notation": insert.excluded.notation, "family": insert.excluded.family}
                upsert = insert.on_conflict_do_update(index_elements=["graph_hash"], set_=changes)
                ids.update({h: int(i) for h, i in session.execute(upsert.returning(table.c.graph_hash, table.c.id))})
        self._arch_ids.update(ids)
        return ids

    def _architecture_ids(self, session: Session, hashes: set[str]) -> dict[str, int]:
        """The ids of the stored architectures with these graph hashes; ValueError naming one not stored."""
        missing = hashes - self._arch_ids.keys()
        if missing:
            found = session.execute(
                select(Architecture.graph_hash, Architecture.id).where(Architecture.graph_hash.in_(missing))
            )
            self._arch_ids.update({str(h): int(i) for h, i in found})
        unknown = sorted(hashes - self._arch_ids.keys())
        if unknown:
            raise ValueError(f"architecture {unknown[0]} is not stored: upsert_architecture it before its trials")
        return self._arch_ids

    def write_plan(
        self,
        study_id: int,
        plan: dict[str, Any],
        architectures: list[dict[str, Any]],
        arms: list[dict[str, Any]],
        searches: list[dict[str, Any]],
    ) -> None:
        """Store the study's plan in one transaction: the study-level `plan` (JSON), its architectures
        (rows of `archscale_study_architecture` without `study_id`; a stored parameter count is kept
        when the new row has none), its arms and its searches (rows of their tables without `study_id`)."""
        json.dumps(plan, allow_nan=False)
        with self._transaction() as session:
            session.execute(update(Study.__table__).where(Study.__table__.c.id == study_id).values(plan=plan))
            for model, rows, keys in (
                (StudyArchitecture, architectures, ["study_id", "architecture_id"]),
                (StudyArm, arms, ["study_id", "arm"]),
                (StudySearch, searches, ["study_id", "name"]),
            ):
                table = model.__table__
                for names, group in _by_columns(rows).items():  # one statement per set of columns, many rows
                    insert = self._insert(table)
                    changes = {
                        name: func.coalesce(insert.excluded[name], table.c[name])
                        if name == "n_params"
                        else insert.excluded[name]
                        for name in names
                        if name not in keys
                    }
                    session.execute(
                        insert.on_conflict_do_update(index_elements=keys, set_=changes),
                        [{"study_id": study_id, **row} for row in group],
                    )

    def record_choice(
        self, study_id: int, arm: str, architecture_id: int, repeat: int, lr: float, search: str | None, source: str
    ) -> None:
        """Store the LR an arm's final runs use on an architecture in a search repeat, and its origin."""
        self.record_choices(study_id, [(arm, architecture_id, repeat, lr, search, source)])

    def record_choices(self, study_id: int, choices: Sequence[ChosenLR]) -> None:
        """`record_choice` for many (arm, architecture id, repeat, lr, search, source) at once, in one
        statement and transaction; ValueError, before anything is written, for an LR that is not a
        positive finite number."""
        for choice in choices:
            if not 0 < float(choice[3]) < math.inf:
                raise ValueError(f"a chosen LR must be a positive finite number, got {choice[3]!r}")
        if not choices:
            return
        now = utcnow()
        rows = [
            {
                "study_id": study_id,
                "arm": arm,
                "architecture_id": int(architecture),
                "repeat": int(repeat),
                "lr": float(lr),
                "search": search,
                "source": source,
                "chosen_at": now,
            }
            for arm, architecture, repeat, lr, search, source in choices
        ]
        insert = self._insert(Choice.__table__)
        insert = insert.on_conflict_do_update(
            index_elements=["study_id", "arm", "architecture_id", "repeat"],
            set_={k: insert.excluded[k] for k in ("lr", "search", "source", "chosen_at")},
        )
        with self._transaction() as session:
            session.execute(insert, rows)

    def upsert_trial(self, study_id: int, key: RunKey, kind: str, **fields: Unpack[TrialFields]) -> int:
        """Create or update the trial of run `key` in the study (`kind` is its arm's strategy kind; its
        architecture must be stored) and return its id. Only the fields given are written; a new trial
        starts `pending` with empty hyperparameters."""
        return self.upsert_trials(study_id, [(key, kind, fields)])[0]

    def upsert_trials(self, study_id: int, trials: Sequence[tuple[RunKey, str, TrialFields]]) -> list[int]:
        """`upsert_trial` for several runs (a pack's members) in one transaction; their ids in order.

        Trials that set the same fields share one statement, executed once for all of them."""
        table = Trial.__table__
        rows: list[dict[str, Any]] = []
        groups: dict[tuple[str, ...], list[int]] = {}
        with self._transaction() as session:
            arch_ids = self._architecture_ids(session, {key.arch_key for key, _, _ in trials})
            for index, (key, kind, fields) in enumerate(trials):
                values = _trial_values(dict(fields))
                rows.append({**key_columns(study_id, arch_ids[key.arch_key], key), "kind": str(kind), **values})
                groups.setdefault(tuple(sorted(values)), []).append(index)
            ids: dict[tuple[Any, ...], int] = {}
            for names, members in groups.items():
                insert = self._insert(table)
                changes = {name: insert.excluded[name] for name in names} or {"status": table.c.status}
                upsert = insert.on_conflict_do_update(index_elements=list(NATURAL_KEY), set_=changes)
                returned = session.execute(
                    upsert.returning(table.c.id, *(table.c[c] for c in NATURAL_KEY)), [rows[i] for i in members]
                )
                ids.update({tuple(found[1:]): int(found[0]) for found in returned})
        ordered = [ids[tuple(row[c] for c in NATURAL_KEY)] for row in rows]
        self._trial_ids.update(ordered)
        return ordered

    def add_epoch(
        self,
        trial_id: int,
        epoch: int,
        *,
        train_loss: float | None = None,
        train_loss_tail: float | None = None,
        train_accuracy: float | None = None,
        val_loss: float | None = None,
        val_accuracy: float | None = None,
        test_loss: float | None = None,
        test_accuracy: float | None = None,
        lr: float | None = None,
        seconds: float | None = None,
    ) -> None:
        """Buffer one epoch of a trial this writer has upserted; rewriting an epoch replaces it."""
        if trial_id not in self._trial_ids:
            raise ValueError(f"trial id {trial_id} was not upserted by this writer")
        if not self._epochs:
            self._oldest = time.monotonic()
        metrics = (
            train_loss,
            train_loss_tail,
            train_accuracy,
            val_loss,
            val_accuracy,
            test_loss,
            test_accuracy,
            lr,
            seconds,
        )
        row = dict(zip(EPOCH_METRICS, map(_float, metrics), strict=True))
        self._epochs[(trial_id, int(epoch))] = {"trial_id": trial_id, "epoch": int(epoch), **row}
        if len(self._epochs) >= self.batch_size or time.monotonic() - self._oldest >= self.max_delay_s:
            self.flush()

    def flush(self) -> None:
        """Write the buffered epochs and parameter counts now, in one transaction."""
        if self._epochs or self._parameter_counts:
            with self._transaction():
                pass

    def write_benchmark_results(self, benchmark: str, rows: Sequence[BenchmarkRow], chunk: int = 500) -> int:
        """Store a benchmark's results in one transaction (all or nothing) and return how many rows were
        written. An architecture missing from `archscale_architecture` is added under its graph hash (an
        existing row is left as it is); each result is upserted on (benchmark, dataset, architecture,
        seed, epochs), so importing the same file again changes nothing. ValueError for an accuracy
        outside [0, 1], a negative seed or non-positive epochs."""
        for row in rows:
            if not 0.0 <= float(row.test_accuracy) <= 1.0:
                raise ValueError(f"test accuracy must be a fraction in [0, 1], got {row.test_accuracy!r}")
            if int(row.seed) < 0 or int(row.epochs) <= 0:
                raise ValueError(f"seed must be >= 0 and epochs > 0, got seed {row.seed}, epochs {row.epochs}")
        archs = Architecture.__table__
        results = BenchmarkResult.__table__
        cells = {r.graph_hash: {"graph_hash": r.graph_hash, "notation": r.notation, "family": r.family} for r in rows}
        hashes = list(cells)
        now = utcnow()
        with self._transaction() as session:
            ids: dict[str, int] = {}
            for start in range(0, len(hashes), chunk):
                part = hashes[start : start + chunk]
                insert = self._insert(archs).values([cells[h] for h in part])
                session.execute(insert.on_conflict_do_nothing(index_elements=["graph_hash"]))
                found = session.execute(select(archs.c.graph_hash, archs.c.id).where(archs.c.graph_hash.in_(part)))
                ids.update({h: i for h, i in found})
            values = [
                {
                    "benchmark": benchmark,
                    "dataset": r.dataset,
                    "architecture_id": ids[r.graph_hash],
                    "seed": int(r.seed),
                    "epochs": int(r.epochs),
                    "test_accuracy": float(r.test_accuracy),
                    "source": r.source,
                    "imported_at": now,
                }
                for r in rows
            ]
            insert = self._insert(results)
            changes = {name: insert.excluded[name] for name in ("test_accuracy", "source", "imported_at")}
            statement = insert.on_conflict_do_update(index_elements=list(BENCHMARK_KEY), set_=changes)
            for start in range(0, len(values), chunk * 10):
                session.execute(statement, values[start : start + chunk * 10])
        return len(values)

    def set_parameter_count(self, study_id: int, architecture_id: int, n_params: int) -> None:
        """Record an architecture's parameter count in a study (counted where its model is built: on a
        worker), buffered with the epochs: written by the next transaction (`flush` at the latest)."""
        self._parameter_counts[(study_id, architecture_id)] = int(n_params)

    def finish_study(self, study_id: int, status: StudyStatus | str) -> None:
        """Write the buffered epochs and record the study's final status and finishing time."""
        done = update(Study.__table__).where(Study.__table__.c.id == study_id)
        with self._transaction() as session:
            session.execute(done.values(status=StudyStatus(status).value, finished_at=utcnow()))

    def mark_stale_running_failed(self, study_id: int) -> int:
        """On resume: mark the study's trials left `running` by a stopped driver as failed; return how many."""
        table = Trial.__table__
        stale = update(table).where(table.c.study_id == study_id, table.c.status == TrialStatus.RUNNING.value)
        with self._transaction() as session:
            result = session.execute(
                stale.values(status=TrialStatus.FAILED.value, finished_at=utcnow(), error=INTERRUPTED)
            )
            return result.rowcount

    def close(self) -> None:
        """Write the buffered epochs and release the engine (the writer may be used again)."""
        self.flush()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One transaction that begins by writing the buffered epochs and parameter counts; they leave
        the buffers once it commits."""
        pending = list(self._epochs.values())
        counts = dict(self._parameter_counts)
        with Session(self.engine) as session, session.begin():
            if pending:
                self._upsert_epochs(session, pending)
            if counts:
                self._update_parameter_counts(session, counts)
            yield session
        for row in pending:
            del self._epochs[(row["trial_id"], row["epoch"])]
        for key in counts:
            if self._parameter_counts.get(key) == counts[key]:
                del self._parameter_counts[key]

    @staticmethod
    def _update_parameter_counts(session: Session, counts: dict[tuple[int, int], int]) -> None:
        table = StudyArchitecture.__table__
        where = (table.c.study_id == bindparam("s")) & (table.c.architecture_id == bindparam("a"))
        statement = update(table).where(where).values(n_params=bindparam("n"))
        session.connection().execute(statement, [{"s": s, "a": a, "n": n} for (s, a), n in counts.items()])

    def _upsert_epochs(self, session: Session, rows: list[dict[str, Any]]) -> None:
        if self.engine.dialect.name == "postgresql":
            session.execute(_PG_EPOCH_UPSERT, {name: [row[name] for row in rows] for name in EPOCH_COLUMNS})
        else:
            insert = sqlite.insert(Epoch.__table__)
            changes = {name: insert.excluded[name] for name in EPOCH_METRICS}
            session.execute(insert.on_conflict_do_update(index_elements=["trial_id", "epoch"], set_=changes), rows)

    def _insert(self, table: Table) -> Any:
        """An INSERT with the dialect's ON CONFLICT support."""
        return (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)


def _by_columns(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], list[dict[str, Any]]]:
    """`rows` grouped by the columns they set (in order)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return groups


def _trial_values(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = fields.keys() - TrialFields.__annotations__.keys()
    if unknown:
        raise TypeError(f"unknown trial fields: {', '.join(sorted(unknown))}")
    values = dict(fields)
    for name in fields.keys() & _INT_FIELDS:
        values[name] = _int(fields[name])
    for name in fields.keys() & _FLOAT_FIELDS:
        values[name] = _float(fields[name])
    for name in fields.keys() & {"started_at", "finished_at"}:
        if fields[name] is not None and fields[name].tzinfo is None:
            raise ValueError(f"{name} is a naive datetime; pass an aware one (UTC)")
    if "status" in fields:
        values["status"] = TrialStatus(fields["status"]).value
    if "hyperparameters" in fields:
        try:
            json.dumps(fields["hyperparameters"], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"hyperparameters must be JSON with finite numbers: {exc}") from None
    return values


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
