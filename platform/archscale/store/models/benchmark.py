"""archscale_benchmark_result: a benchmark's published accuracies (e.g. NAS-Bench-201's), imported by
`archscale benchmark import`, shared by every study (nothing here belongs to a study)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archscale.store.models.base import Base

BENCHMARK_KEY = ("benchmark", "dataset", "architecture_id", "seed", "epochs")


class BenchmarkResult(Base):
    """One published training run: `benchmark` (e.g. "nb201") trained the architecture on `dataset`
    (archscale's name: cifar10, cifar100, imagenet16-120) with `seed` for `epochs` epochs and reported
    `test_accuracy` (a fraction in [0, 1]); `source` names the file it came from. The primary key is
    the natural key, so importing a file again replaces its rows instead of adding any."""

    __tablename__ = "archscale_benchmark_result"
    __table_args__ = (
        CheckConstraint("test_accuracy >= 0 AND test_accuracy <= 1", name="accuracy"),
        CheckConstraint("seed >= 0 AND epochs > 0", name="numbers"),
    )

    benchmark: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    architecture_id: Mapped[int] = mapped_column(ForeignKey("archscale_architecture.id"), primary_key=True)
    seed: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    epochs: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    test_accuracy: Mapped[float]
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime]
