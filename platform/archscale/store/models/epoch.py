"""archscale_epoch: one row per trained epoch of a trial (the learning curves)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from archscale.store.models.base import Base


class Epoch(Base):
    """Metrics after one epoch (`train_loss_tail`: the mean training loss over the epoch's last tenth
    of steps), the learning rate used and the seconds the epoch took;
    the primary key (trial_id, epoch) makes a rewrite replace the row."""

    __tablename__ = "archscale_epoch"
    __table_args__ = (CheckConstraint("epoch >= 0", name="epoch"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("archscale_trial.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    train_loss: Mapped[float | None]
    train_loss_tail: Mapped[float | None]
    train_accuracy: Mapped[float | None]
    val_loss: Mapped[float | None]
    val_accuracy: Mapped[float | None]
    test_loss: Mapped[float | None]
    test_accuracy: Mapped[float | None]
    lr: Mapped[float | None]
    seconds: Mapped[float | None]

    @classmethod
    def for_trial(cls, session: Session, trial_id: int) -> list[Epoch]:
        return list(session.scalars(select(cls).where(cls.trial_id == trial_id).order_by(cls.epoch)))
