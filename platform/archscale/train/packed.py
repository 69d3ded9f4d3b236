"""Train a pack: K runs of one architecture as one `PackedModel`, each run as `train.loop.train` would.

    packed = pack_models(models)                       # member k: models[k], with its own init
    results = train_pack(packed, splits, configs)      # configs[k]: member k's TrainConfig

Per member, exactly as its unpacked run: its batch order and augmentation (a generator seeded with
its own `seed`, drawn in the same order), its LR schedule, momentum, Nesterov and weight decay
(`PackedSGD`: torch.optim.SGD's update, member by member), its divergence detection (on the CPU after
every step, on CUDA every `CUDA_CHECK_EVERY` steps and at the end of each epoch), its per-epoch
`EpochMetrics` and its `TrainResult`. A diverged member is masked at once: its learning rate
becomes 0 (its parameters stop changing) and its loss leaves the pack's; the others go on. Diverged
members leave the pack mid-epoch once computing them would cost more than rebuilding the pack
(`worth_dropping`), and at the end of the epoch every member that diverged or was stopped leaves it:
the pack goes on as a smaller one. The pack's time is shared out equally among the members that
train in each stretch of it.

Members differ only in `PER_MEMBER_FIELDS`; every other `TrainConfig` field must be equal
(`pack_key`). Knows nothing of Ray or databases.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archscale.data import BatchIterator, CropFlip, Split, Splits
from archscale.errors import UserError
from archscale.nn.packed import PackedModel, members_view
from archscale.train.config import PER_MEMBER_FIELDS, TrainConfig
from archscale.train.loop import CUDA_CHECK_EVERY, TAIL, resolve_device, threads
from archscale.train.metrics import EpochMetrics, Status, TrainResult
from archscale.train.schedule import LRSchedule

PackForward = Callable[[Tensor], Tensor]
MemberCallback = Callable[[int, EpochMetrics], bool | None]


def pack_key(config: TrainConfig) -> tuple[object, ...]:
    """The settings a pack shares: runs whose configs have equal keys can train in one pack."""
    return tuple(getattr(config, f.name) for f in fields(config) if f.name not in PER_MEMBER_FIELDS)


def _check_configs(configs: Sequence[TrainConfig], members: int) -> None:
    if len(configs) != members:
        raise ValueError(f"a pack of {members} members needs {members} configs, got {len(configs)}")
    for f in fields(configs[0]):
        values = {getattr(c, f.name) for c in configs}
        if f.name not in PER_MEMBER_FIELDS and len(values) > 1:
            raise UserError(f"the runs of a pack must share training setting {f.name}, got {sorted(map(str, values))}")


class PackedSGD:
    """torch.optim.SGD (no dampening) over member-major packed parameters, hyperparameters per member.

    For each parameter, member by member: `g = grad + weight_decay·p`; with momentum the buffer is
    `g` at the first step and `momentum·buf + g` after; the direction is `g + momentum·buf` (Nesterov)
    or `buf`; `p -= lr·direction`. A member with momentum 0 steps on `g` alone, as SGD does. `step`
    takes this step's K learning rates: a member given 0 keeps its parameters as they are.
    """

    def __init__(
        self,
        params: Iterable[nn.Parameter],
        members: int,
        *,
        momentum: Sequence[float],
        nesterov: Sequence[bool],
        weight_decay: Sequence[float],
    ) -> None:
        self.params = list(params)
        self.members = members
        device = self.params[0].device
        self._momentum = torch.tensor(momentum, dtype=torch.float32, device=device)
        self._nesterov = torch.tensor(nesterov, dtype=torch.bool, device=device)
        self._weight_decay = torch.tensor(weight_decay, dtype=torch.float32, device=device)
        self._uses_momentum = any(m != 0 for m in momentum)
        self._nesterov_mix = "none" if not any(nesterov) else "all" if all(nesterov) else "some"
        self._uses_weight_decay = any(w != 0 for w in weight_decay)
        self._buffers: list[Tensor | None] = [None] * len(self.params)

    def keep(self, members: Sequence[int], params: Iterable[nn.Parameter]) -> None:
        """Go on with only the members at these indices (in this order) and `params`, the parameters of
        the pack that keeps them (`PackedModel.keep`), in the same order as before."""
        index = torch.tensor(members, device=self._momentum.device)
        self.params = list(params)
        self._buffers = [
            None if buf is None else members_view(buf, self.members)[index].flatten(0, 1) for buf in self._buffers
        ]
        self._momentum = self._momentum[index]
        self._nesterov = self._nesterov[index]
        self._weight_decay = self._weight_decay[index]
        self.members = len(members)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, lr: Tensor) -> None:
        """One update with learning rates `lr` (K,) on the parameters' device."""
        for i, param in enumerate(self.params):
            if param.grad is None:
                continue
            p, g = members_view(param, self.members), members_view(param.grad, self.members)
            shape = (self.members,) + (1,) * (p.dim() - 1)
            if self._uses_weight_decay:
                g = torch.addcmul(g, self._weight_decay.view(shape), p)
            if self._uses_momentum:
                momentum = self._momentum.view(shape)
                buf = self._buffers[i]
                if buf is None:
                    buf = self._buffers[i] = g.clone()
                else:
                    buf.mul_(momentum).add_(g)
                if self._nesterov_mix == "all":
                    g = torch.addcmul(g, momentum, buf)
                elif self._nesterov_mix == "some":
                    g = torch.where(self._nesterov.view(shape), torch.addcmul(g, momentum, buf), buf)
                else:
                    g = buf
            p.addcmul_(g, lr.view(shape), value=-1)


@dataclass(frozen=True)
class _PackEpoch:
    """One epoch's training statistics for the whole pack, back on the host."""

    steps: int
    losses: Tensor  # (steps, members) float64, by member; a member's steps after it left are not its own
    sizes: Tensor  # (steps,) float64
    correct: Tensor  # (members,) int64, by member
    diverged: dict[int, int]  # member -> steps into the epoch when its divergence was detected

    def mean(self, k: int) -> float:
        return float((self.losses[:, k].contiguous() * self.sizes).sum() / self.sizes.sum())

    def tail(self, k: int) -> float:
        return float(self.losses[-max(1, math.ceil(TAIL * self.steps)) :, k].contiguous().mean())

    def accuracy(self, k: int) -> float:
        return int(self.correct[k]) / float(self.sizes.sum())


class _MemberBatches:
    """The training batches of every member for one pass: member k's order and augmentation come from
    its own generator, drawn as `BatchIterator(split, batch_size, generator=g_k, augment=...)` would."""

    def __init__(
        self, split: Split, batch_size: int, generators: Sequence[torch.Generator], augments: Sequence[CropFlip] | None
    ) -> None:
        self.split = split
        self.batch_size = batch_size
        self.generators = list(generators)
        self.augments = None if augments is None else list(augments)
        self._sizes = BatchIterator(split, batch_size).batch_sizes()
        self._orders: Tensor | None = None  # (K, n): the pass in progress's order of every member

    def keep(self, places: Sequence[int]) -> None:
        """Go on, within the pass in progress too, with only the members at these places, in this order."""
        self.generators = [self.generators[i] for i in places]
        if self.augments is not None:
            self.augments = [self.augments[i] for i in places]
        if self._orders is not None:
            self._orders = self._orders[torch.tensor(places, device=self._orders.device)]

    def __len__(self) -> int:
        return len(self._sizes)

    def batch_sizes(self) -> list[int]:
        return self._sizes

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield (x (B, K, *input_shape), y (B, K)) batches."""
        x, y, n = self.split.x, self.split.y, len(self.split)
        self._orders = torch.stack([torch.randperm(n, generator=g, device=x.device) for g in self.generators])
        for start in range(0, n, self.batch_size):
            index = self._orders[:, start : start + self.batch_size]
            if self.augments is None:
                xb = x[index.T]
            else:
                xb = torch.stack([augment(x[row]) for augment, row in zip(self.augments, index, strict=True)], 1)
            yield xb, y[index.T]


class _TimeShares:
    """The pack's time, shared out equally among the members that train in each stretch of it."""

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


@dataclass
class _Pack:
    """What changes when members leave a pack: the model, the optimizer, each place's LR column and mask,
    the member at each place (`slots`) and their batches."""

    packed: PackedModel
    optimizer: PackedSGD
    lr_table: Tensor  # (steps, K)
    active: Tensor  # (K,): 1 while the member at that place trains, 0 once masked
    slots: list[int]
    batches: _MemberBatches
    device: torch.device
    channels_last: bool

    def keep(self, places: Sequence[int]) -> None:
        """Go on with only the members at these places, in this order (mid-epoch too)."""
        self.packed.keep(places)
        _place(self.packed, self.device, self.channels_last)
        self.optimizer.keep(places, self.packed.parameters())
        index = torch.tensor(places, device=self.device)
        self.lr_table, self.active = self.lr_table[:, index], self.active[index]
        self.slots = [self.slots[i] for i in places]
        self.batches.keep(places)


def worth_dropping(masked: int, members: int, steps_left: int) -> bool:
    """Whether masked members should leave a pack of `members` now: the steps left would spend on them
    at least one step of the whole pack (about what rebuilding it costs), and some member stays."""
    return 0 < masked < members and masked * steps_left >= members


def _train_epoch(
    pack: _Pack, forward: PackForward, first_step: int, check_every: int, shares: _TimeShares
) -> _PackEpoch:
    """Train the pack until the epoch or the schedule's steps run out, or every member has diverged.
    A member that diverges is masked (`pack.active` 0 at its place) and leaves the pack mid-epoch when
    `worth_dropping` says so; its stretches of time are its own."""
    members, batches = len(shares.seconds), pack.batches
    device = batches.split.x.device
    losses = torch.full((len(batches), members), math.nan, device=device)
    correct = torch.zeros(members, dtype=torch.int64, device=device)
    diverged: dict[int, int] = {}
    columns = torch.tensor(pack.slots, device=device)

    def check(window: Tensor, steps: int) -> None:
        finite = torch.isfinite(window[:, columns]).all(0).tolist()
        for place, k in enumerate(pack.slots):
            if k not in diverged and not finite[place]:
                diverged[k] = steps
                pack.active[place] = 0.0

    n = 0
    for x, y in batches:
        if first_step + n == pack.lr_table.shape[0]:
            break
        logits = forward(x).float()  # (B, K, classes)
        per_sample = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
        member_loss = per_sample.view(y.shape).T.contiguous().mean(1)  # each member's own row: as in a pack of one
        pack.optimizer.zero_grad()
        torch.where(pack.active > 0, member_loss, 0.0).sum().backward()
        pack.optimizer.step(pack.lr_table[first_step + n] * pack.active)
        losses[n, columns] = member_loss.detach()
        correct[columns] += (logits.argmax(-1) == y).sum(0)
        n += 1
        if n % check_every == 0:
            check(losses[n - check_every : n], n)
            masked = [place for place, k in enumerate(pack.slots) if k in diverged]
            if len(masked) == len(pack.slots):
                break
            steps_left = min(len(batches), pack.lr_table.shape[0] - first_step) - n
            if worth_dropping(len(masked), len(pack.slots), steps_left):
                shares.close(pack.slots)
                pack.keep([place for place in range(len(pack.slots)) if place not in masked])
                pack.packed.train()
                columns = torch.tensor(pack.slots, device=device)
    if n % check_every:
        check(losses[n - n % check_every : n], n)
    sizes = torch.tensor(batches.batch_sizes()[:n], dtype=torch.float64)
    return _PackEpoch(n, losses[:n].double().cpu(), sizes, correct.cpu(), diverged)


@torch.inference_mode()
def _evaluate(forward: PackForward, split: Split, batch_size: int, members: int) -> list[tuple[float, float]]:
    """Per member (mean loss, top-1 accuracy) over a non-empty split that every member sees."""
    loss_sum = torch.zeros(members, dtype=torch.float64, device=split.x.device)
    correct = torch.zeros(members, dtype=torch.int64, device=split.x.device)
    for x, y in BatchIterator(split, batch_size):
        logits = forward(x).float()  # (B, K, classes)
        targets = y.unsqueeze(1).expand(-1, members)
        per_sample = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(-1, members)
        loss_sum += per_sample.T.contiguous().sum(1)  # each member's own row: as in a pack of one
        correct += (logits.argmax(-1) == targets).sum(0)
    return [(float(s) / len(split), int(c) / len(split)) for s, c in zip(loss_sum.cpu(), correct.cpu(), strict=True)]


def _forwards(packed: PackedModel, *, bf16: bool, channels_last: bool) -> tuple[PackForward, PackForward]:
    """(training forward on (B, K, ...) inputs, evaluation forward on (B, ...) inputs shared by all)."""

    def run(merged: Tensor) -> Tensor:
        if channels_last:
            merged = merged.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return packed.split(packed.net(merged))

    return (lambda x: run(packed.merge(x))), (lambda x: run(packed.merge_shared(x)))


def _augmentations(data: Splits, config: TrainConfig, generators: Sequence[torch.Generator]) -> list[CropFlip] | None:
    if not config.augment:
        return None
    if data.augment_padding is None:
        raise UserError(f"dataset {data.name} has no crop-and-flip augmentation (flat or non-image inputs)")
    fill = data.normalization.raw_zero(data.input_shape[0]).to(data.device)
    return [CropFlip(data.augment_padding, fill, g) for g in generators]


def train_pack(
    packed: PackedModel,
    splits: Splits,
    configs: Sequence[TrainConfig],
    on_epoch: MemberCallback | None = None,
    after_epoch: Callable[[int], Iterable[int] | None] | None = None,
) -> list[TrainResult]:
    """Train member k of `packed` (moved to the configs' device) with `configs[k]`; one result per member.

    Each member's metrics and status are those of `train(model_k, splits, configs[k], on_epoch)`
    for its unpacked model, up to float rounding. After every epoch `on_epoch(k, metrics)` is called
    for each member still training, in member order; True stops that member (STOPPED unless it was
    the last epoch). Then `after_epoch(epoch)` is called once and may return more members to stop
    (an early-stopping rule that judges the epoch's members together).

    A member that diverges is masked at once (its parameters stop changing) and leaves the pack
    (`PackedModel.keep`) mid-epoch when `worth_dropping`, else at the end of the epoch, where every
    member that stopped leaves it too, so the others train without computing it. `packed` then holds
    only the members still training, in member order: take a member's checkpoint in its `on_epoch`.
    `device_seconds` share the pack's time equally among the members that trained in each stretch of
    it; `wall_seconds` add an equal share of the set-up, so that they sum to the call's time.
    """
    started = time.perf_counter()
    members = packed.members
    _check_configs(configs, members)
    config = configs[0]
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise UserError(f"dataset {splits.name}: the training and test splits must not be empty")
    device = resolve_device(config.device)
    cuda = device.type == "cuda"
    with threads(config.threads):
        torch.manual_seed(config.seed)
        data = splits.to(device)
        channels_last = config.channels_last and cuda and len(data.input_shape) == 3
        _place(packed, device, channels_last)
        if cuda:
            torch.backends.cudnn.benchmark = True
        generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs]
        batches = _MemberBatches(data.train, config.batch_size, generators, _augmentations(data, config, generators))
        total_steps = config.epochs * len(batches)
        if config.max_steps is not None:
            total_steps = min(total_steps, config.max_steps)
        schedules = [
            LRSchedule(
                lr=c.lr,
                total_steps=total_steps,
                warmup_steps=round(c.warmup_epochs * len(batches)),
                cosine=c.schedule == "cosine",
            )
            for c in configs
        ]
        lr_table = torch.tensor(
            [[s(step) for s in schedules] for step in range(total_steps)], dtype=torch.float32, device=device
        )
        optimizer = PackedSGD(
            packed.parameters(),
            members,
            momentum=[c.momentum for c in configs],
            nesterov=[c.nesterov for c in configs],
            weight_decay=[c.weight_decay for c in configs],
        )
        train_forward, eval_forward = _forwards(packed, bf16=cuda and config.bf16, channels_last=channels_last)
        pack = _Pack(
            packed,
            optimizer,
            lr_table,
            torch.ones(members, device=device),
            list(range(members)),
            batches,
            device,
            channels_last,
        )
        status: list[Status | None] = [None] * members  # per member; None while it trains
        steps = [0] * members
        shares = _TimeShares(members)
        histories: list[list[EpochMetrics]] = [[] for _ in range(members)]
        epochs = math.ceil(total_steps / len(batches))
        check_every = CUDA_CHECK_EVERY if cuda else 1
        step = 0
        for epoch in range(1, epochs + 1):
            places = [i for i, k in enumerate(pack.slots) if status[k] is None]
            if not places:
                break
            if len(places) < len(pack.slots):  # members left the pack: go on without them
                pack.keep(places)
            shares.restart()
            before = {k: shares.seconds[k] for k in pack.slots}
            packed.train()
            trained = _train_epoch(pack, train_forward, step, check_every, shares)
            for k, at in trained.diverged.items():
                status[k], steps[k] = Status.DIVERGED, step + at
            step += trained.steps
            reporting = [i for i, k in enumerate(pack.slots) if status[k] is None]
            evaluations: tuple[list[tuple[float, float]] | None, list[tuple[float, float]]] | None = None
            if reporting:
                packed.eval()
                members_now = len(pack.slots)
                val = _evaluate(eval_forward, data.val, config.eval_batch_size, members_now) if len(data.val) else None
                evaluations = val, _evaluate(eval_forward, data.test, config.eval_batch_size, members_now)
            shares.close(pack.slots)
            if evaluations is None:
                continue
            val, test = evaluations
            for i in reporting:
                k = pack.slots[i]
                steps[k] = step
                metrics = EpochMetrics(
                    epoch=epoch,
                    steps=step,
                    lr=schedules[k](step),
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
                    pack.active[i] = 0.0
            stops = after_epoch(epoch) if after_epoch is not None else None
            for k in stops or ():
                if status[k] is None and epoch < epochs:
                    status[k] = Status.STOPPED
    device_seconds = shares.seconds
    overhead = (time.perf_counter() - started - sum(device_seconds)) / members
    return [
        TrainResult(s or Status.COMPLETED, h, n, d, d + overhead)
        for s, h, n, d in zip(status, histories, steps, device_seconds, strict=True)
    ]


def _place(packed: PackedModel, device: torch.device, channels_last: bool) -> None:
    packed.to(device)
    if channels_last:
        packed.to(memory_format=torch.channels_last)


def _total_cpu_bytes() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def member_bytes(model: nn.Module, input_shape: Sequence[int], batch_size: int) -> int:
    """An estimate of one member's training memory: parameters, gradients and momentum (float32) plus
    twice the float32 outputs of every leaf module for a batch (saved for backward, and their gradients)."""
    outputs = 0

    def count(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal outputs
        if isinstance(output, Tensor):
            outputs += output.numel()

    hooks = [m.register_forward_hook(count) for m in model.modules() if next(m.children(), None) is None]
    device = next(model.parameters()).device
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=device))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    params = sum(p.numel() for p in model.parameters())
    return 4 * (3 * params + 2 * outputs * batch_size)


def pack_size_auto(
    model: nn.Module,
    input_shape: Sequence[int],
    batch_size: int,
    device: torch.device,
    *,
    runs: int,
    cap: int = 64,
    share: float = 1.0,
    memory_fraction: float = 0.5,
) -> int:
    """How many of `runs` runs of `model` (one member, unpacked) to train per pack on `device`.

    At most `cap` and as many as fit in `memory_fraction` of this trial's `share` of the device's
    **total** memory (CUDA) or RAM (CPU) by `member_bytes`; then balanced, so that ceil(runs / K) packs of
    K members hold the runs with the smallest K (20 runs under a limit of 16 give packs of 10). Always at
    least 1. Total, not free, memory: the answer (and so which runs share a pack, which decides their
    rounding) is a function of the machine's kind, never of what else runs on it at the moment.
    """
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    if device.type == "cuda":
        total: int | None = torch.cuda.get_device_properties(device).total_memory
    else:
        total = _total_cpu_bytes()
    limit = min(cap, runs)
    if total is not None:
        room = int(total * min(1.0, share) * memory_fraction)
        limit = min(limit, room // member_bytes(model, input_shape, batch_size))
    limit = max(1, limit)
    return math.ceil(runs / math.ceil(runs / limit))
