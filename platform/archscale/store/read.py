"""Read the results database into pandas frames.

Every function takes a URL (opened read-only for the call) or an engine, checks that the schema is at
head, and returns a new frame: timestamps are timezone-aware UTC, nullable integers are `Int64`,
missing metrics are NaN. `study` selects one study by name (UserError if there is none of that name).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Double, Engine, Integer, Select, String, func, select
from sqlalchemy.orm import Session

from archscale.errors import UserError
from archscale.store.engine import make_engine
from archscale.store.migrate import require_schema
from archscale.store.models import (
    Architecture,
    BenchmarkResult,
    Choice,
    Epoch,
    Study,
    StudyArchitecture,
    StudyArm,
    StudySearch,
    Trial,
    run_key,
)
from archscale.store.models.base import UTCDateTime
from archscale.store.url import shown
from archscale.vocabulary import FINISHED, RunKey, TrialStatus

if TYPE_CHECKING:
    import pandas as pd

HP_PREFIX = "hp_"
_TRIAL_KEY = (Trial.arm, Trial.kind, Trial.phase, Trial.seed, Trial.trial_number, Trial.repeat)


def read_studies(db: str | Engine) -> pd.DataFrame:
    """One row per study, by name: status, trial counts (all and completed), provenance and YAML text."""
    counts = (
        select(
            Trial.study_id,
            func.count().label("trials"),
            func.count().filter(Trial.status == TrialStatus.COMPLETED.value).label("completed"),
        )
        .group_by(Trial.study_id)
        .subquery()
    )
    query = (
        select(
            Study.name,
            Study.status,
            func.coalesce(counts.c.trials, 0).label("trials"),
            func.coalesce(counts.c.completed, 0).label("completed"),
            Study.created_at,
            Study.finished_at,
            Study.package_version,
            Study.git_revision,
            Study.host,
            Study.devices,
            Study.yaml_sha256,
            Study.yaml_text,
            Study.id,
            Study.simulated,
        )
        .outerjoin(counts, counts.c.study_id == Study.id)
        .order_by(Study.name)
    )
    with _session(db) as session:
        return _frame(session, query)


def read_architectures(db: str | Engine, study: str | None = None) -> pd.DataFrame:
    """One row per architecture graph (of `study`'s plan and trials, or all), in id order: what the graph
    determines. A study's own facts about them (S, scale, parameters, ...) are in `read_plan`."""
    query = select(*Architecture.__table__.columns).order_by(Architecture.id)
    with _session(db) as session:
        if study is not None:
            study_id = _study_id(session, study)
            used = (
                select(Trial.architecture_id)
                .where(Trial.study_id == study_id)
                .union(select(StudyArchitecture.architecture_id).where(StudyArchitecture.study_id == study_id))
            )
            query = query.where(Architecture.id.in_(used))
        return _frame(session, query)


@dataclass(frozen=True)
class StudyPlan:
    """What a study planned, as its driver stored it (see `archscale.store.models.plan`); the report
    reads everything study-specific from here and never re-plans from the YAML.

    - `seeds`: final-run seeds; `search_seeds`: the seeds of search and probe trials (disjoint from
      `seeds` for searches);
    - `search_repeats`: R ≥ 1; every search ran R times with independent sampler seeds, and the finals
      of an arm whose LR comes from a search ran once per repeat;
    - `pairs`: the arm pairs (a, b) compared; differences are a − b;
    - `chance`: 1 / the dataset's number of classes (the score of a diverged final run), None if unknown;
    - `architectures`: one row per architecture: graph_hash, notation, family, kernel_size (Int64),
      width (Int64), position (listed order; -1 for an unlisted base), listed, is_base, convention,
      paths, S, principled_scale, parameters (Int64, NA until known);
    - `arms`: one row per arm in YAML order: arm, kind, position, label, final (has final runs),
      settings (dict), recipe (dict: `init` (the init_model settings), the training fields of its final
      runs (epochs, batch_size, momentum, nesterov, weight_decay, schedule, ...), and `lr_search` (dict:
      trials, sampler, low, high, seed, early_stopping; None when the LR is not searched));
    - `searches`: one row per search: name (= the trials' `optuna_study`), phase, graph_hash, repeat,
      arms (tuple of the arms its cost is charged to), scope ("architecture" or "study"), budget (dict:
      trials, sampler, low, high, early_stopping, init, epochs);
    - `choices`: the chosen LR per arm, architecture and repeat: arm, graph_hash, repeat, lr, search, source.
    """

    seeds: tuple[int, ...]
    search_seeds: tuple[int, ...]
    search_repeats: int
    pairs: tuple[tuple[str, str], ...]
    chance: float | None
    architectures: pd.DataFrame
    arms: pd.DataFrame
    searches: pd.DataFrame
    choices: pd.DataFrame
    simulated: bool = False
    """Run by `archscale run --simulate`: synthetic metrics, never results of training."""


def read_plan(db: str | Engine, study: str) -> StudyPlan:
    """The stored plan of `study` (UserError naming the known studies if there is none of that name)."""
    a, sa_ = Architecture, StudyArchitecture
    with _session(db) as session:
        study_id = _study_id(session, study)
        row = session.get(Study, study_id)
        assert row is not None
        plan, simulated = row.plan or {}, bool(row.simulated)
        architectures = _frame(
            session,
            select(
                a.graph_hash,
                a.notation,
                a.family,
                sa_.kernel_size,
                sa_.width,
                sa_.position,
                sa_.listed,
                sa_.is_base,
                sa_.convention,
                sa_.paths,
                sa_.depth_cubed_sum.label("S"),
                sa_.principled_scale,
                sa_.n_params.label("parameters"),
            )
            .join(a, a.id == sa_.architecture_id)
            .where(sa_.study_id == study_id)
            .order_by(sa_.listed.desc(), sa_.position, a.id),
        )
        arms = _frame(
            session,
            select(*StudyArm.__table__.columns).where(StudyArm.study_id == study_id).order_by(StudyArm.position),
        )
        searches = _frame(
            session,
            select(
                StudySearch.name,
                StudySearch.phase,
                a.graph_hash,
                StudySearch.repeat,
                StudySearch.seed,
                StudySearch.arms,
                StudySearch.scope,
                StudySearch.budget,
            )
            .join(a, a.id == StudySearch.architecture_id)
            .where(StudySearch.study_id == study_id)
            .order_by(StudySearch.repeat, StudySearch.name),
        )
        choices = _frame(
            session,
            select(Choice.arm, a.graph_hash, Choice.repeat, Choice.lr, Choice.search, Choice.source)
            .join(a, a.id == Choice.architecture_id)
            .where(Choice.study_id == study_id)
            .order_by(Choice.repeat, Choice.arm, a.id),
        )
    searches["arms"] = [tuple(x) for x in searches["arms"]]
    return StudyPlan(
        seeds=tuple(plan.get("seeds", ())),
        search_seeds=tuple(plan.get("search_seeds", ())),
        search_repeats=int(plan.get("search_repeats", 1)),
        pairs=tuple((str(x), str(y)) for x, y in plan.get("pairs", ())),
        chance=plan.get("chance"),
        architectures=architectures.astype({"listed": bool, "is_base": bool}),
        arms=arms.drop(columns=["study_id"]).astype({"final": bool}),
        searches=searches,
        choices=choices,
        simulated=simulated,
    )


def read_trials(db: str | Engine, study: str | None = None) -> pd.DataFrame:
    """Wide: one row per trial, with its study and architecture, hyperparameters flattened into
    `hp_*` columns (nested keys joined by `_`), in trial id order."""
    columns = [c for c in Trial.__table__.columns if c.name != "hyperparameters"]
    query = (
        select(
            Study.name.label("study"),
            Study.simulated,
            Architecture.notation.label("architecture"),
            Architecture.family,
            Architecture.graph_hash,
            *columns,
            Trial.hyperparameters,
        )
        .join(Study, Study.id == Trial.study_id)
        .join(Architecture, Architecture.id == Trial.architecture_id)
        .order_by(Trial.id)
    )
    with _session(db) as session:
        if study is not None:
            query = query.where(Trial.study_id == _study_id(session, study))
        frame = _frame(session, query)
    import pandas as pd

    hyperparameters = pd.json_normalize(frame.pop("hyperparameters").tolist(), sep="_")
    hyperparameters.index = frame.index
    return pd.concat([frame, hyperparameters.add_prefix(HP_PREFIX)], axis=1)


def finished_keys(db: str | Engine, study: str) -> set[RunKey]:
    """The keys of `study`'s runs that finished (completed, pruned or diverged), read as key columns
    alone: what a driver needs to skip them, without the wide frame of `read_trials`."""
    query = (
        select(Architecture.graph_hash, *_TRIAL_KEY)
        .join(Architecture, Architecture.id == Trial.architecture_id)
        .where(Trial.status.in_([s.value for s in FINISHED]))
    )
    with _session(db) as session:
        rows = session.execute(query.where(Trial.study_id == _study_id(session, study))).all()
    return {run_key(row.graph_hash, row) for row in rows}


def read_epochs(db: str | Engine, study: str | None = None) -> pd.DataFrame:
    """Long: one row per (trial, epoch), with the trial's study, architecture, arm, kind, phase, seed,
    trial number and search repeat, ordered by trial id and epoch."""
    query = (
        select(
            Study.name.label("study"),
            Architecture.notation.label("architecture"),
            *_TRIAL_KEY,
            *Epoch.__table__.columns,
        )
        .join(Trial, Trial.id == Epoch.trial_id)
        .join(Study, Study.id == Trial.study_id)
        .join(Architecture, Architecture.id == Trial.architecture_id)
        .order_by(Epoch.trial_id, Epoch.epoch)
    )
    with _session(db) as session:
        if study is not None:
            query = query.where(Trial.study_id == _study_id(session, study))
        return _frame(session, query)


def read_benchmark(db: str | Engine, benchmark: str, dataset: str, epochs: int | None = None) -> pd.DataFrame:
    """Long: one row per imported result of `benchmark` on `dataset` (archscale's dataset name; and
    `epochs`, when given): graph_hash, architecture (notation), family, dataset, seed, epochs,
    test_accuracy (a fraction), source, imported_at; ordered by epochs, architecture id and seed.
    Empty (with these columns) when nothing was imported."""
    b = BenchmarkResult
    query = (
        select(
            Architecture.graph_hash,
            Architecture.notation.label("architecture"),
            Architecture.family,
            b.dataset,
            b.seed,
            b.epochs,
            b.test_accuracy,
            b.source,
            b.imported_at,
        )
        .join(Architecture, Architecture.id == b.architecture_id)
        .where(b.benchmark == benchmark, b.dataset == dataset)
        .order_by(b.epochs, Architecture.id, b.seed)
    )
    if epochs is not None:
        query = query.where(b.epochs == epochs)
    with _session(db) as session:
        return _frame(session, query)


@contextmanager
def _session(db: str | Engine) -> Iterator[Session]:
    engine = make_engine(db, read_only=True) if isinstance(db, str) else db
    try:
        require_schema(engine)
        with Session(engine) as session:
            yield session
    finally:
        if isinstance(db, str):
            engine.dispose()


def _study_id(session: Session, name: str) -> int:
    study = Study.find(session, name)
    if study is not None:
        return study.id
    names = Study.names(session)
    known = f"studies: {', '.join(names)}" if names else "it holds no studies"
    raise UserError(f"no study '{name}' in {shown(session.get_bind().engine.url)}; {known}")


def _frame(session: Session, query: Select[Any]) -> pd.DataFrame:
    import pandas as pd  # imported on use: `archscale query` and the writer do not need it

    result = session.execute(query)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in query.selected_columns:
        kind, name = column.type, column.name
        if isinstance(kind, UTCDateTime):
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.as_unit("us")
        elif isinstance(kind, Double):
            frame[name] = frame[name].astype("float64")
        elif isinstance(kind, String):
            frame[name] = frame[name].astype("str")
        elif isinstance(kind, Integer) and getattr(column, "nullable", False):
            frame[name] = frame[name].astype("Int64")
    return frame
