"""archscale_architecture: one row per distinct architecture graph, shared by all studies."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.graph import Family
from archscale.store.models.base import Base, one_of


class Architecture(Base):
    """An architecture, keyed by its graph hash (`archscale.graph.Architecture.digest()`).

    `paths` (number of input→output paths) and `depth_cubed_sum` (S = Σ_p L_p³) are stored as
    doubles, since path counts grow exponentially; `principled_scale` is the LR factor relative to
    the base architecture. Statistics that depend on a study's convention or width are those of the
    study that wrote the row last.
    """

    __tablename__ = "archscale_architecture"
    __table_args__ = (CheckConstraint(one_of("family", Family), name="family"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    graph_hash: Mapped[str] = mapped_column(String(64), unique=True)
    notation: Mapped[str] = mapped_column(Text)
    family: Mapped[str] = mapped_column(String(16))
    kernel_size: Mapped[int | None]
    n_params: Mapped[int | None] = mapped_column(BigInteger)
    paths: Mapped[float | None]
    depth_cubed_sum: Mapped[float | None]
    principled_scale: Mapped[float | None]

    @classmethod
    def find(cls, session: Session, graph_hash: str) -> Architecture | None:
        return session.scalars(select(cls).where(cls.graph_hash == graph_hash)).one_or_none()
