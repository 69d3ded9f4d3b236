"""archscale_study: one row per study, holding its YAML verbatim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String, Text, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.store.models.base import Base, one_of
from archscale.vocabulary import StudyStatus


class Study(Base):
    """A study: its name (unique), YAML text and SHA-256, lifecycle, and where it ran.

    `host` and `devices` are free-text summaries of the driver's machine and the accelerators used;
    `plan` holds the study-level plan: final `seeds`, `search_seeds`, `search_repeats`, compared
    `pairs` and `chance` (1/classes, the score of a diverged final run); `simulated` marks a study whose
    metrics came from `archscale run --simulate`'s synthetic trainer.
    """

    __tablename__ = "archscale_study"
    __table_args__ = (CheckConstraint(one_of("status", StudyStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    yaml_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    package_version: Mapped[str] = mapped_column(String(64))
    git_revision: Mapped[str | None] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(Text)
    devices: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[dict[str, Any] | None]
    simulated: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Run by `archscale run --simulate`: a synthetic trainer's metrics, never results of training."""

    @classmethod
    def find(cls, session: Session, name: str) -> Study | None:
        return session.scalars(select(cls).where(cls.name == name)).one_or_none()

    @classmethod
    def names(cls, session: Session) -> list[str]:
        return list(session.scalars(select(cls.name).order_by(cls.name)))
