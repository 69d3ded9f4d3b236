"""archscale_architecture: one row per distinct architecture graph, shared by all studies: only what
the graph itself determines (study-specific facts are in `archscale_study_architecture`)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.graph import Family
from archscale.store.models.base import Base, one_of


class Architecture(Base):
    """An architecture, keyed by its graph hash (`archscale.graph.Architecture.digest()`, which
    includes a width override and the kernel size)."""

    __tablename__ = "archscale_architecture"
    __table_args__ = (CheckConstraint(one_of("family", Family), name="family"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    graph_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notation: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(String(16))
    kernel_size: Mapped[int | None]

    @classmethod
    def find(cls, session: Session, graph_hash: str) -> Architecture | None:
        return session.scalars(select(cls).where(cls.graph_hash == graph_hash)).one_or_none()
