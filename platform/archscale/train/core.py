"""The training core: K ≥ 1 runs of one architecture trained side by side, each as it would alone.

    results = fit(splits, configs, members, on_epoch, after_epoch)   # configs[k]: member k's run

`fit` does what every run shares: the set-up (device, threads, the global seed, the data on the
device, each member's batch-order generator, augmentation and LR schedule), the loop over epochs and
steps, each member's divergence detection, the evaluation, the epoch statistics, `EpochMetrics`,
statuses and time. What differs between a model alone (`train.loop`) and a pack (`train.packed`) is
behind `Members`, built by `members(setup)`: how the models step (optimizer, loss) and evaluate, and
how members leave.

Per member: its divergence is detected on the CPU after every step, on CUDA every `CUDA_CHECK_EVERY`
steps and at the end of each epoch (per-step losses and correct counts stay on the device until
then); a diverged member is masked at once (its `active` place is 0: the models must leave its
parameters as they are) and the epoch ends when every member is. Diverged members leave mid-epoch
once computing them would cost more than rebuilding the pack (`worth_dropping`); at the end of an
epoch every member that diverged or was stopped leaves. The time is shared out equally among the
members that train in each stretch of it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from archscale.data import BatchIterator, CropFlip, Split, Splits
from archscale.errors import UserError
from archscale.train.config import TrainConfig
from archscale.train.device import resolve_device, threads
from archscale.train.metrics import EpochMetrics, Status, TrainResult
from archscale.train.schedule import LRSchedule

CUDA_CHECK_EVERY = 32
TAIL = 0.1  # the share of an epoch's last steps averaged into `train_loss_tail`

Scores = list[tuple[float, float]]  # per place: (mean loss, top-1 accuracy)
MemberCallback = Callable[[int, EpochMetrics], bool | None]
JointStop = Callable[[int], Iterable[int] | None]


class Batches(Protocol):
    """The training batches of one pass, re-iterable (one pass per `iter`)."""

    def __len__(self) -> int: ...

    def batch_sizes(self) -> list[int]: ...

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]: ...


class Members(Protocol):
    """The models that `fit` trains, one member at each place (a model alone has one place)."""

    @property
    def batches(self) -> Batches:
        """Every member's training batches of one pass."""
        ...

    def step(self, x: Tensor, y: Tensor, step: int, active: Tensor) -> tuple[Tensor, Tensor]:
        """Train on one batch at schedule step `step`, changing only the members whose `active` (K,) is 1
        (`fit` never steps when none is); return each place's loss (float32) and correct count."""
        ...

    def evaluate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Each place's summed loss and correct count on one batch that every member sees."""
        ...

    def train(self, mode: bool) -> None:
        """Training (True) or evaluation mode for every member."""
        ...

    def keep(self, places: Sequence[int]) -> None:
        """Go on with only the members at these places, in this order (mid-epoch too), in the same mode."""
        ...


@dataclass(frozen=True)
class Setup:
    """What `fit` prepared before the models: the run's device and its data there, each member's config,
    batch-order generator, augmentation and LR schedule, the run's steps and its CUDA options."""

    device: torch.device
    data: Splits
    configs: Sequence[TrainConfig]
    generators: list[torch.Generator]
    augments: list[CropFlip] | None
    schedules: list[LRSchedule]
    total_steps: int
    bf16: bool
    channels_last: bool


def fit(
    splits: Splits,
    configs: Sequence[TrainConfig],
    members: Callable[[Setup], Members],
    on_epoch: MemberCallback | None = None,
    after_epoch: JointStop | None = None,
) -> list[TrainResult]:
    """Train member k with `configs[k]` (which share every setting but `PER_MEMBER_FIELDS`); one result each.

    After every epoch `on_epoch(k, metrics)` is called for each member still training, in member
    order; True stops that member (STOPPED unless it was the last epoch). Then `after_epoch(epoch)`
    may return more members to stop. A non-finite training loss ends a member with status DIVERGED,
    without an exception; its last epoch is not reported. `device_seconds` share the time equally
    among the members that trained in each stretch of it; `wall_seconds` add an equal share of the
    set-up, so that they sum to the call's time. On the CPU the same inputs give the same bits.
    """
    started = time.perf_counter()
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise UserError(f"dataset {splits.name}: the training and test splits must not be empty")
    config = configs[0]
    device = resolve_device(config.device)
    with threads(config.threads):
        setup = _setup(splits, configs, device)
        team = _Team(members(setup), list(range(len(configs))), torch.ones(len(configs), device=device))
        status: list[Status | None] = [None] * len(configs)  # per member; None while it trains
        steps = [0] * len(configs)
        shares = _TimeShares(len(configs))
        histories: list[list[EpochMetrics]] = [[] for _ in configs]
        epochs = math.ceil(setup.total_steps / len(team.members.batches))
        check_every = CUDA_CHECK_EVERY if device.type == "cuda" else 1
        step = 0
        for epoch in range(1, epochs + 1):
            places = [i for i, k in enumerate(team.slots) if status[k] is None]
            if not places:
                break
            if len(places) < len(team.slots):  # members left: go on without them
                team.keep(places)
            shares.restart()
            before = {k: shares.seconds[k] for k in team.slots}
            team.members.train(True)
            trained = _train_epoch(team, step, setup.total_steps, check_every, shares)
            for k, at in trained.diverged.items():
                status[k], steps[k] = Status.DIVERGED, step + at
            step += trained.steps
            reporting = [i for i, k in enumerate(team.slots) if status[k] is None]
            evaluations = _evaluate_splits(team, setup.data, config.eval_batch_size) if reporting else None
            shares.close(team.slots)
            if evaluations is None:
                continue
            val, test = evaluations
            for i in reporting:
                k = team.slots[i]
                steps[k] = step
                metrics = EpochMetrics(
                    epoch=epoch,
                    steps=step,
                    lr=setup.schedules[k](step),
                    train_loss=trained.mean(k),
                    train_loss_tail=trained.tail(k),
                    train_accuracy=trained.accuracy(k),
                    val_loss=None if val is None else val[i][0],
                    val_accuracy=None if val is None else val[i][1],
                    test_loss=test[i][0],
                    test_accuracy=test[i][1],
                    seconds=shares.seconds[k] - before[k],
                    device_seconds=shares.seconds[k],
                )
                histories[k].append(metrics)
                if on_epoch is not None and on_epoch(k, metrics) is True and epoch < epochs:
                    status[k] = Status.STOPPED
                    team.active[i] = 0.0
            stops = after_epoch(epoch) if after_epoch is not None else None
            for k in stops or ():
                if status[k] is None and epoch < epochs:
                    status[k] = Status.STOPPED
    overhead = (time.perf_counter() - started - sum(shares.seconds)) / len(configs)
    return [
        TrainResult(s or Status.COMPLETED, h, n, d, d + overhead)
        for s, h, n, d in zip(status, histories, steps, shares.seconds, strict=True)
    ]


def _setup(splits: Splits, configs: Sequence[TrainConfig], device: torch.device) -> Setup:
    """Seed torch's global RNG with the first member's seed, move the data and draw nothing else."""
    config = configs[0]
    cuda = device.type == "cuda"
    torch.manual_seed(config.seed)
    data = splits.to(device)
    if cuda:
        torch.backends.cudnn.benchmark = True
    generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs]
    steps_per_epoch = len(BatchIterator(data.train, config.batch_size))
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    schedules = [
        LRSchedule(
            lr=c.lr,
            total_steps=total_steps,
            warmup_steps=round(c.warmup_epochs * steps_per_epoch),
            cosine=c.schedule == "cosine",
        )
        for c in configs
    ]
    return Setup(
        device,
        data,
        configs,
        generators,
        _augmentations(data, config, generators),
        schedules,
        total_steps,
        bf16=cuda and config.bf16,
        channels_last=config.channels_last and cuda and len(data.input_shape) == 3,
    )


def _augmentations(data: Splits, config: TrainConfig, generators: Sequence[torch.Generator]) -> list[CropFlip] | None:
    """Each member's crop-and-flip, drawn from its own generator; None without `augment`."""
    if not config.augment:
        return None
    if data.augment_padding is None:
        raise UserError(f"dataset {data.name} has no crop-and-flip augmentation (flat or non-image inputs)")
    fill = data.normalization.raw_zero(data.input_shape[0]).to(data.device)
    return [CropFlip(data.augment_padding, fill, g) for g in generators]


@dataclass
class _Team:
    """The members still in the run: their models, the member at each place (`slots`) and each place's
    mask (`active`: 1 while the member there trains, 0 once masked)."""

    members: Members
    slots: list[int]
    active: Tensor

    def keep(self, places: Sequence[int]) -> None:
        """Go on with only the members at these places, in this order (mid-epoch too)."""
        self.members.keep(places)
        self.active = self.active[torch.tensor(places, device=self.active.device)]
        self.slots = [self.slots[i] for i in places]


@dataclass(frozen=True)
class _EpochStats:
    """One epoch's training statistics, by member, back on the host."""

    steps: int
    losses: Tensor  # (steps, members) float64; a member's steps after it left are not its own
    sizes: Tensor  # (steps,) float64: each step's batch size
    correct: Tensor  # (members,) int64
    diverged: dict[int, int]  # member -> steps into the epoch when its divergence was detected

    def mean(self, k: int) -> float:
        """Member k's mean loss, each step weighted by its batch size."""
        return float((self.losses[:, k].contiguous() * self.sizes).sum() / self.sizes.sum())

    def tail(self, k: int) -> float:
        """Member k's mean loss over the epoch's last `TAIL` of steps (at least one)."""
        return float(self.losses[-max(1, math.ceil(TAIL * self.steps)) :, k].contiguous().mean())

    def accuracy(self, k: int) -> float:
        return int(self.correct[k]) / float(self.sizes.sum())


class _TimeShares:
    """The run's time, shared out equally among the members that train in each stretch of it."""

    def __init__(self, members: int) -> None:
        self.seconds = [0.0] * members
        self._mark = time.perf_counter()

    def restart(self) -> None:
        self._mark = time.perf_counter()

    def close(self, members: Sequence[int]) -> None:
        """End the stretch since the last `close` or `restart`: each of `members` gets an equal share."""
        now = time.perf_counter()
        share = (now - self._mark) / len(members)
        for k in members:
            self.seconds[k] += share
        self._mark = now


def worth_dropping(masked: int, members: int, steps_left: int) -> bool:
    """Whether masked members should leave a pack of `members` now: the steps left would spend on them
    at least one step of the whole pack (about what rebuilding it costs), and some member stays."""
    return 0 < masked < members and masked * steps_left >= members


def _train_epoch(team: _Team, first_step: int, total_steps: int, check_every: int, shares: _TimeShares) -> _EpochStats:
    """Train until the epoch or the schedule's steps run out, or every member has diverged. A member
    that diverges is masked and leaves mid-epoch when `worth_dropping` says so; its stretches of time
    are its own."""
    members, batches = len(shares.seconds), team.members.batches
    device = team.active.device
    losses = torch.full((len(batches), members), math.nan, device=device)
    correct = torch.zeros(members, dtype=torch.int64, device=device)
    diverged: dict[int, int] = {}
    columns = torch.tensor(team.slots, device=device)

    def check(window: Tensor, steps: int) -> None:
        finite = torch.isfinite(window[:, columns]).all(0).tolist()
        for place, k in enumerate(team.slots):
            if k not in diverged and not finite[place]:
                diverged[k] = steps
                team.active[place] = 0.0

    n = 0
    for x, y in batches:
        if first_step + n == total_steps:
            break
        loss, hits = team.members.step(x, y, first_step + n, team.active)
        losses[n, columns] = loss
        correct[columns] += hits
        n += 1
        if n % check_every == 0:
            check(losses[n - check_every : n], n)
            masked = [place for place, k in enumerate(team.slots) if k in diverged]
            if len(masked) == len(team.slots):
                break
            steps_left = min(len(batches), total_steps - first_step) - n
            if worth_dropping(len(masked), len(team.slots), steps_left):
                shares.close(team.slots)
                team.keep([place for place in range(len(team.slots)) if place not in masked])
                columns = torch.tensor(team.slots, device=device)
    if n % check_every:
        check(losses[n - n % check_every : n], n)
    sizes = torch.tensor(batches.batch_sizes()[:n], dtype=torch.float64)
    return _EpochStats(n, losses[:n].double().cpu(), sizes, correct.cpu(), diverged)


def _evaluate_splits(team: _Team, data: Splits, batch_size: int) -> tuple[Scores | None, Scores]:
    """Each place's scores on the validation split (None when it is empty) and the test split."""
    team.members.train(False)
    places = len(team.slots)
    val = _evaluate(team.members, data.val, batch_size, places) if len(data.val) else None
    return val, _evaluate(team.members, data.test, batch_size, places)


@torch.inference_mode()
def _evaluate(members: Members, split: Split, batch_size: int, places: int) -> Scores:
    """Each place's scores over a non-empty split."""
    loss_sum = torch.zeros(places, dtype=torch.float64, device=split.x.device)
    correct = torch.zeros(places, dtype=torch.int64, device=split.x.device)
    for x, y in BatchIterator(split, batch_size):
        loss, hits = members.evaluate(x, y)
        loss_sum += loss
        correct += hits
    return [(float(s) / len(split), int(c) / len(split)) for s, c in zip(loss_sum.cpu(), correct.cpu(), strict=True)]
