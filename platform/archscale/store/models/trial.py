"""archscale_trial: one row per training run, keyed so that a resumed study never duplicates one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.store.models.base import Base, one_of
from archscale.vocabulary import Phase, RunKey, TrialStatus

NATURAL_KEY = ("study_id", "architecture_id", "arm", "phase", "seed", "trial_number", "repeat")
"""The trial row's unique key: a `RunKey` within its study, its architecture by id (`key_columns`)."""


def key_columns(study_id: int, architecture_id: int, key: RunKey) -> dict[str, Any]:
    """The NATURAL_KEY columns of run `key`'s trial row in study `study_id`, whose architecture (the
    key's graph digest) is stored as `architecture_id`: the one mapping from a run's key to its row."""
    return {
        "study_id": int(study_id),
        "architecture_id": int(architecture_id),
        "arm": str(key.arm),
        "phase": key.phase.value,
        "seed": int(key.seed),
        "trial_number": int(key.trial_number),
        "repeat": int(key.repeat),
    }


def run_key(graph_hash: str, row: Any) -> RunKey:
    """The key of the run a trial row (or a frame row with its columns) stores, its architecture's
    graph digest being `graph_hash`: `key_columns` read back."""
    return RunKey(
        str(graph_hash), str(row.arm), Phase(row.phase), int(row.seed), int(row.trial_number), int(row.repeat)
    )


class Trial(Base):
    """A trial: who (study, architecture, arm, phase, seed, trial number, search repeat), the arm's
    `kind` (a registered strategy kind, stored as free text), with what hyperparameters (JSON: lr,
    init scheme, epochs, ...), and how it ended.

    `trial_number` is the Optuna trial number when `optuna_study` is set, the grid index of a probe,
    and 0 for a single run. `budget_reached` is the number of epochs trained (a pruned trial stops
    below the budget); validation and test metrics are those at `selected_epoch`.
    """

    __tablename__ = "archscale_trial"
    __table_args__ = (
        UniqueConstraint(*NATURAL_KEY, name="uq_archscale_trial_key"),
        CheckConstraint(one_of("phase", Phase), name="phase"),
        CheckConstraint(one_of("status", TrialStatus), name="status"),
        CheckConstraint("seed >= 0 AND trial_number >= 0", name="numbers"),
        Index("ix_archscale_trial_study_arm", "study_id", "arm", "phase"),
        Index("ix_archscale_trial_architecture", "architecture_id", "arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("archscale_study.id", ondelete="CASCADE"))
    architecture_id: Mapped[int] = mapped_column(ForeignKey("archscale_architecture.id"))
    arm: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int]
    trial_number: Mapped[int]
    repeat: Mapped[int] = mapped_column(default=0)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=TrialStatus.PENDING.value)
    budget_reached: Mapped[int | None]
    selected_epoch: Mapped[int | None]
    val_loss: Mapped[float | None]
    val_accuracy: Mapped[float | None]
    test_loss: Mapped[float | None]
    test_accuracy: Mapped[float | None]
    device_kind: Mapped[str | None] = mapped_column(String(64))
    device_seconds: Mapped[float | None]
    wall_seconds: Mapped[float | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    ray_trial_id: Mapped[str | None] = mapped_column(String(64))
    node_id: Mapped[str | None] = mapped_column(String(64))
    optuna_study: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    same_run_as: Mapped[str | None] = mapped_column(String(64))
    """The arm whose row trained the identical run this row shares (NULL: this row's own run)."""

    @classmethod
    def find(cls, session: Session, study_id: int, architecture_id: int, key: RunKey) -> Trial | None:
        """The trial row of run `key` (see `key_columns`), if stored."""
        columns = key_columns(study_id, architecture_id, key)
        return session.scalars(select(cls).filter_by(**columns)).one_or_none()
