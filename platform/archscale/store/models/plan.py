"""The study's plan, written by the driver before Ray starts (and its choices as searches finish):

- `archscale_study_architecture`: each architecture of a study with the facts that depend on the
  study (listed or base, width, kernel, convention, S, paths, principled scale, parameter count);
- `archscale_study_arm`: each arm (name, kind, label, settings, the recipe its final runs use);
- `archscale_study_search`: each Optuna search, the arms its cost is charged to, and its budget;
- `archscale_choice`: the LR each arm chose per architecture and search repeat, and where it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archscale.store.models.base import Base


def _study() -> ForeignKey:
    return ForeignKey("archscale_study.id", ondelete="CASCADE")


def _arch() -> ForeignKey:
    return ForeignKey("archscale_architecture.id")


class StudyArchitecture(Base):
    """An architecture in a study: `listed` (the user asked for it, at `position`) or a base network
    (`is_base`); `S` (`depth_cubed_sum`) and `paths` as doubles; `principled_scale` under the study's
    convention; `n_params` as built at the study's width (None until a worker counts it)."""

    __tablename__ = "archscale_study_architecture"

    study_id: Mapped[int] = mapped_column(_study(), primary_key=True)
    architecture_id: Mapped[int] = mapped_column(_arch(), primary_key=True)
    position: Mapped[int]
    listed: Mapped[bool]
    is_base: Mapped[bool]
    width: Mapped[int | None]
    kernel_size: Mapped[int | None]
    convention: Mapped[str | None] = mapped_column(String(16))
    paths: Mapped[float | None]
    depth_cubed_sum: Mapped[float | None]
    principled_scale: Mapped[float | None]
    n_params: Mapped[int | None] = mapped_column(BigInteger)


class StudyArm(Base):
    """An arm of a study: its `kind` (a registered strategy kind, free text), display `label`, whether
    it has final runs, its YAML `settings` and the `recipe` of its final runs (init, optimizer,
    schedule, epochs, batch size, the LR search it relies on)."""

    __tablename__ = "archscale_study_arm"

    study_id: Mapped[int] = mapped_column(_study(), primary_key=True)
    arm: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(Text)
    final: Mapped[bool]
    settings: Mapped[dict[str, Any]]
    recipe: Mapped[dict[str, Any]]


class StudySearch(Base):
    """An Optuna search of a study (`name` is the Optuna study name): its phase, architecture, search
    repeat and training seed, the arms its cost is charged to (`arms`, a JSON list) and how (`scope`:
    `architecture` or `study`), and its `budget` (trials, sampler, range, early stopping, init, epochs)."""

    __tablename__ = "archscale_study_search"

    study_id: Mapped[int] = mapped_column(_study(), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    phase: Mapped[str] = mapped_column(String(16))
    architecture_id: Mapped[int] = mapped_column(_arch())
    repeat: Mapped[int]
    seed: Mapped[int | None]
    scope: Mapped[str] = mapped_column(String(16))
    arms: Mapped[dict[str, Any]]
    budget: Mapped[dict[str, Any]]


class Choice(Base):
    """The LR an arm's final runs use on an architecture in a search repeat: `search` names the Optuna
    study it came from (None for a given LR), `source` says how it was derived."""

    __tablename__ = "archscale_choice"

    study_id: Mapped[int] = mapped_column(_study(), primary_key=True)
    arm: Mapped[str] = mapped_column(String(64), primary_key=True)
    architecture_id: Mapped[int] = mapped_column(_arch(), primary_key=True)
    repeat: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    lr: Mapped[float]
    search: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(Text)
    chosen_at: Mapped[datetime]
