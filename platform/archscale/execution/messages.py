"""The typed boundary between the driver and Ray Tune workers.

- `TrialRequest`: what one trial trains (its key, LR, init and training recipe), carried in the Tune
  config under `"request"`;
- `EpochReport`: one epoch's metrics, in the vocabulary of `archscale.train.EpochMetrics` and of the
  database's epoch columns (no renaming on the way);
- `TrialEnd`: how the trial ended, reported once after its epochs.

Tune carries reports as dicts; each says which message it is under `"message"`, so nothing is
recognised by a missing key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

METRIC = "val_accuracy"
"""What searches maximise and early stopping compares."""
TIME_ATTR = "epoch"
"""Tune's time attribute: epochs trained."""
MESSAGE = "message"


@dataclass(frozen=True)
class TrialRequest:
    """One trial: natural key (architecture, arm, phase, seed, trial number, repeat), the arm's kind,
    the LR, the `init_model` settings, the training recipe (`TrainConfig` fields without lr and seed),
    the Optuna search it belongs to (None for a trial with a known LR) and `build_model` keywords
    beyond the study's."""

    arch_key: str
    arm: str
    kind: str
    phase: str
    seed: int
    trial_number: int
    repeat: int
    lr: float
    init: dict[str, str]
    recipe: dict[str, Any]
    search: str | None = None
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        """The epochs this trial runs when nothing stops it."""
        return int(self.recipe["epochs"])

    @property
    def key(self) -> tuple[str, str, str, int, int, int]:
        return (self.arch_key, self.arm, self.phase, self.seed, self.trial_number, self.repeat)

    def config(self) -> dict[str, Any]:
        """The Tune config of this trial."""
        return {"request": asdict(self)}

    @classmethod
    def of(cls, config: dict[str, Any]) -> TrialRequest:
        return cls(**config["request"])


@dataclass(frozen=True)
class EpochReport:
    """One epoch of a trial: `archscale.train.EpochMetrics`' fields plus the model's parameter count."""

    kind: ClassVar[str] = "epoch"
    epoch: int
    steps: int
    lr: float
    train_loss: float
    train_loss_tail: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    test_loss: float
    test_accuracy: float
    seconds: float
    device_seconds: float
    params: int

    def result(self) -> dict[str, Any]:
        return {MESSAGE: self.kind, **asdict(self)}


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended (`archscale.train.Status` value), its time, its device and Ray node."""

    kind: ClassVar[str] = "end"
    status: str
    device_seconds: float
    wall_seconds: float
    device_kind: str
    node_id: str | None

    def result(self) -> dict[str, Any]:
        return {MESSAGE: self.kind, **asdict(self)}


def read_result(result: dict[str, Any] | None) -> EpochReport | TrialEnd | None:
    """The message a Tune result carries (None for Tune's own bookkeeping results)."""
    if not result:
        return None
    for message in (EpochReport, TrialEnd):
        if result.get(MESSAGE) == message.kind:
            return message(**{f.name: result[f.name] for f in fields(message)})
    return None
