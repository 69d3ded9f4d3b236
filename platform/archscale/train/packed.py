"""Train a pack: K runs of one architecture as one `PackedModel`, each run as `train.loop.train` would.

    packed = pack_models(models)                       # member k: models[k], with its own init
    results = train_pack(packed, splits, configs)      # configs[k]: member k's TrainConfig

The pack trains in the core (`archscale.train.core.fit`), which gives each member, exactly as its
unpacked run: its batch order and augmentation (a generator seeded with its own `seed`, drawn in the
same order), its LR schedule, its divergence detection, its per-epoch `EpochMetrics` and its
`TrainResult`. Here: member k's batches, its momentum, Nesterov and weight decay (`PackedSGD`:
torch.optim.SGD's update, member by member) and per-member cross-entropy. A masked member's learning
rate is 0 (its parameters stop changing) and its loss leaves the pack's.

Members differ only in `PER_MEMBER_FIELDS`; every other `TrainConfig` field must be equal
(`pack_key`). Knows nothing of Ray or databases.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import fields

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archscale.data import BatchIterator, CropFlip, Split, Splits
from archscale.errors import UserError
from archscale.nn.packed import PackedModel
from archscale.train.config import PER_MEMBER_FIELDS, TrainConfig
from archscale.train.core import JointStop, MemberCallback, Setup, fit
from archscale.train.device import on_device, place
from archscale.train.metrics import TrainResult
from archscale.train.packed_sgd import PackedSGD


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


def train_pack(
    packed: PackedModel,
    splits: Splits,
    configs: Sequence[TrainConfig],
    on_epoch: MemberCallback | None = None,
    after_epoch: JointStop | None = None,
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
    _check_configs(configs, packed.members)
    return fit(splits, configs, lambda setup: _Pack(packed, setup), on_epoch, after_epoch)


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


class _Pack:
    """A packed model as the core's members (`archscale.train.core.Members`): `PackedSGD` at each place's
    column of the LR table, each member's own mean cross-entropy."""

    def __init__(self, packed: PackedModel, setup: Setup) -> None:
        configs = setup.configs
        self.packed = packed
        self.device, self.channels_last = setup.device, setup.channels_last
        place(packed, self.device, self.channels_last)
        self.optimizer = PackedSGD(
            packed.parameters(),
            packed.members,
            momentum=[c.momentum for c in configs],
            nesterov=[c.nesterov for c in configs],
            weight_decay=[c.weight_decay for c in configs],
        )
        self.lr_table = torch.tensor(  # (steps, K)
            [[s(step) for s in setup.schedules] for step in range(setup.total_steps)],
            dtype=torch.float32,
            device=self.device,
        )
        self.batches = _MemberBatches(setup.data.train, configs[0].batch_size, setup.generators, setup.augments)
        run = on_device(
            lambda merged: packed.split(packed.net(merged)), bf16=setup.bf16, channels_last=self.channels_last
        )
        self._train_forward = lambda x: run(packed.merge(x))
        self._eval_forward = lambda x: run(packed.merge_shared(x))

    def step(self, x: Tensor, y: Tensor, step: int, active: Tensor) -> tuple[Tensor, Tensor]:
        logits = self._train_forward(x).float()  # (B, K, classes)
        per_sample = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
        member_loss = per_sample.view(y.shape).T.contiguous().mean(1)  # each member's own row: as in a pack of one
        self.optimizer.zero_grad()
        torch.where(active > 0, member_loss, 0.0).sum().backward()
        self.optimizer.step(self.lr_table[step] * active)
        return member_loss.detach(), (logits.argmax(-1) == y).sum(0)

    def evaluate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        logits = self._eval_forward(x).float()  # (B, K, classes)
        members = logits.shape[1]
        targets = y.unsqueeze(1).expand(-1, members)
        per_sample = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view(-1, members)
        return per_sample.T.contiguous().sum(1), (logits.argmax(-1) == targets).sum(0)  # each member's own row

    def train(self, mode: bool) -> None:
        self.packed.train(mode)

    def keep(self, places: Sequence[int]) -> None:
        mode = self.packed.training
        self.packed.keep(places)
        place(self.packed, self.device, self.channels_last)
        self.packed.train(mode)
        self.optimizer.keep(places, self.packed.parameters())
        self.lr_table = self.lr_table[:, torch.tensor(places, device=self.device)]
        self.batches.keep(places)


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
