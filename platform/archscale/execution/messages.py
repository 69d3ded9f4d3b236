"""The typed boundary between the driver and Ray Tune workers.

A Tune trial trains one **pack**: one or more members that share an architecture and everything but
their LR, seed, init and optimizer settings (a search trial is a pack of one).

- `TrialRequest`: what one member trains (its key, LR, init, training recipe, build options); the Tune
  config holds the pack's requests under `"members"`;
- `EpochReport`: one member's epoch, in the vocabulary of `archscale.train.EpochMetrics` and of the
  database's epoch columns (no renaming on the way);
- `TrialEnd`: how one member ended, reported after its epochs.

Tune carries reports as dicts; each says which message it is under `"message"`, so nothing is
recognised by a missing key. An epoch result also carries the epoch and the best validation accuracy
of its members at the top level, for Tune's progress reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar

from archscale.train.metrics import EpochMetrics
from archscale.vocabulary import RunKey

METRIC = "val_accuracy"
"""What searches maximise and early stopping compares."""
TIME_ATTR = "epoch"
"""Tune's time attribute: epochs trained."""
MESSAGE = "message"
MEMBERS = "members"


@dataclass(frozen=True)
class TrialRequest:
    """One run: its key (`RunKey`), the arm's kind, the LR, the `init_model` settings, the training
    recipe (`TrainConfig` fields without lr and seed), the Optuna search it belongs to (None for a run
    with a known LR), `build_model` keywords beyond the study's, and the (arm, kind, repeat) of the
    identical runs it stands for (`Unit.shared_with`)."""

    key: RunKey
    kind: str
    lr: float
    init: dict[str, str]
    recipe: dict[str, Any]
    search: str | None = None
    model: dict[str, Any] = field(default_factory=dict)
    shared_with: list[tuple[str, str, int]] = field(default_factory=list)

    def sharers(self) -> list[TrialRequest]:
        """The requests of the identical runs this run stands for (rows recorded with its results)."""
        return [
            replace(self, key=replace(self.key, arm=arm, repeat=int(repeat)), kind=kind, shared_with=[])
            for arm, kind, repeat in self.shared_with
        ]

    @property
    def budget(self) -> int:
        """The epochs this run trains when nothing stops it."""
        return int(self.recipe["epochs"])

    def config(self) -> dict[str, Any]:
        """The Tune config of a trial of this run alone."""
        return pack_config([self])

    @classmethod
    def of(cls, config: dict[str, Any]) -> TrialRequest:
        """The first member of a trial's config (a search trial's only one)."""
        return members_of(config)[0]

    @classmethod
    def from_dict(cls, member: dict[str, Any]) -> TrialRequest:
        """A request from its form in a Tune config (`pack_config`)."""
        return cls(**{**member, "key": RunKey(**member["key"])})


def pack_config(requests: list[TrialRequest]) -> dict[str, Any]:
    """The Tune config of a trial that trains `requests` as one pack."""
    return {MEMBERS: [asdict(r) for r in requests]}


def members_of(config: dict[str, Any]) -> list[TrialRequest]:
    return [TrialRequest.from_dict(member) for member in config[MEMBERS]]


@dataclass(frozen=True)
class EpochReport(EpochMetrics):
    """One member's epoch: `archscale.train.EpochMetrics` (the same names, end to end) plus the model's
    parameter count and the member's index in its pack."""

    kind: ClassVar[str] = "epoch"
    params: int
    member: int = 0


@dataclass(frozen=True)
class TrialEnd:
    """How one member ended (`archscale.train.Status` value), its time, its device and Ray node."""

    kind: ClassVar[str] = "end"
    status: str
    device_seconds: float
    wall_seconds: float
    device_kind: str
    node_id: str | None
    member: int = 0


def epoch_result(reports: list[EpochReport]) -> dict[str, Any]:
    """One Tune result for the members that trained an epoch."""
    scores = [r.val_accuracy for r in reports if r.val_accuracy is not None]
    return {
        MESSAGE: EpochReport.kind,
        TIME_ATTR: reports[0].epoch,
        METRIC: max(scores) if scores else None,
        "reports": [asdict(r) for r in reports],
    }


def end_result(ends: list[TrialEnd]) -> dict[str, Any]:
    """The last Tune result of a trial: how each member ended."""
    return {MESSAGE: TrialEnd.kind, "ends": [asdict(e) for e in ends]}


def read_result(result: dict[str, Any] | None) -> list[EpochReport | TrialEnd]:
    """The members' messages a Tune result carries (none for Tune's own bookkeeping results)."""
    if not result:
        return []
    if result.get(MESSAGE) == EpochReport.kind:
        return [_build(EpochReport, r) for r in result["reports"]]
    if result.get(MESSAGE) == TrialEnd.kind:
        return [_build(TrialEnd, e) for e in result["ends"]]
    return []


def _build(message: type[EpochReport] | type[TrialEnd], values: dict[str, Any]) -> Any:
    return message(**{f.name: values[f.name] for f in fields(message) if f.name in values})
