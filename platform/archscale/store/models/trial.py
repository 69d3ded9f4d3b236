"""archscale_trial: one row per training run, keyed so that a resumed study never duplicates one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.store.models.base import Base, one_of
from archscale.vocabulary import Phase, TrialStatus

NATURAL_KEY = ("study_id", "architecture_id", "arm", "phase", "seed", "trial_number", "repeat")


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
    def find(
        cls, session: Session, study_id: int, architecture_id: int, arm: str, phase: str, seed: int,
        trial_number: int, repeat: int = 0,
    ) -> Trial | None:
        key = (study_id, architecture_id, arm, phase, seed, trial_number, repeat)
        query = select(cls).where(*(getattr(cls, name) == value for name, value in zip(NATURAL_KEY, key, strict=True)))
        return session.scalars(query).one_or_none()
