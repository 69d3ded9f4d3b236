"""One training run: SGD on cross-entropy over device-resident batches, evaluated after every epoch.

The loop avoids host-device syncs: per-step losses and correct counts accumulate in device tensors
and come back once per epoch; on CUDA the divergence check syncs every `CUDA_CHECK_EVERY` steps
(on the CPU, where a check is free, after every step).

A model with μP base shapes (`archscale.nn.build_model(..., parametrization="mup")`) trains with
MuSGD (`archscale.nn.mup.mup_sgd`), whose parameter groups carry `lr_mult`: each step sets a group's LR
to the schedule's LR times its `lr_mult` (1 for plain SGD's single group).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from archscale.data import BatchIterator, CropFlip, Split, Splits
from archscale.errors import UserError
from archscale.nn.registry import parametrization_of
from archscale.train.config import DeviceName, TrainConfig
from archscale.train.metrics import EpochMetrics, Status, TrainResult
from archscale.train.schedule import LRSchedule

CUDA_CHECK_EVERY = 32
TAIL = 0.1  # the share of an epoch's last steps averaged into `train_loss_tail`

Forward = Callable[[Tensor], Tensor]


def resolve_device(name: DeviceName) -> torch.device:
    """`auto` → CUDA when available, else the CPU; `cuda` without a CUDA device is a `UserError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device 'cuda' was asked for, but torch {torch.__version__} sees no CUDA device")
    return torch.device(name)


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """`torch.set_num_threads(count)` for the block (None: unchanged), restored afterwards."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class _EpochLosses:
    """One epoch's training statistics, back on the host."""

    steps: int
    losses: Tensor  # per step, float64 on the CPU
    sizes: Tensor  # per step batch sizes, float64 on the CPU
    correct: int

    @property
    def finite(self) -> bool:
        return bool(torch.isfinite(self.losses).all())

    @property
    def mean(self) -> float:
        return float((self.losses * self.sizes).sum() / self.sizes.sum())

    @property
    def tail(self) -> float:
        return float(self.losses[-max(1, math.ceil(TAIL * len(self.losses))) :].mean())

    @property
    def accuracy(self) -> float:
        return self.correct / float(self.sizes.sum())


def _train_epoch(
    forward: Forward,
    batches: BatchIterator,
    optimizer: torch.optim.Optimizer,
    schedule: LRSchedule,
    first_step: int,
    check_every: int,
) -> _EpochLosses:
    """Train until the epoch or the schedule's steps run out, or a checked loss is not finite."""
    device = batches.split.x.device
    losses = torch.empty(len(batches), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    for x, y in batches:
        if first_step + n == schedule.total_steps:
            break
        lr = schedule(first_step + n)
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_mult", 1.0)
        logits = forward(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses[n] = loss.detach()
        correct += (logits.argmax(1) == y).sum()
        n += 1
        if n % check_every == 0 and not torch.isfinite(losses[n - check_every : n]).all():
            break
    sizes = torch.tensor(batches.batch_sizes()[:n], dtype=torch.float64)
    return _EpochLosses(n, losses[:n].double().cpu(), sizes, int(correct))


@torch.inference_mode()
def _evaluate(forward: Forward, split: Split, batch_size: int) -> tuple[float, float]:
    """(mean loss, top-1 accuracy) over a non-empty split."""
    loss_sum = torch.zeros((), dtype=torch.float64, device=split.x.device)
    correct = torch.zeros((), dtype=torch.int64, device=split.x.device)
    for x, y in BatchIterator(split, batch_size):
        logits = forward(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    return float(loss_sum) / len(split), int(correct) / len(split)


def _forward(model: nn.Module, *, bf16: bool, channels_last: bool) -> Forward:
    """The model's forward pass with the run's CUDA options (bf16 autocast, channels_last inputs)."""

    def forward(x: Tensor) -> Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return model(x)

    return forward


def _augmentation(data: Splits, config: TrainConfig, generator: torch.Generator) -> CropFlip | None:
    if not config.augment:
        return None
    if data.augment_padding is None:
        raise UserError(f"dataset {data.name} has no crop-and-flip augmentation (flat or non-image inputs)")
    fill = data.normalization.raw_zero(data.input_shape[0]).to(data.device)
    return CropFlip(data.augment_padding, fill, generator)


def _optimizer(model: nn.Module, config: TrainConfig, schedule: LRSchedule) -> torch.optim.Optimizer:
    """SGD with the config's momentum, Nesterov and weight decay; MuSGD (groups scaled from
    `config.lr`, each with its `lr_mult`) for a model with μP base shapes."""
    momentum, nesterov, weight_decay = config.momentum, config.nesterov, config.weight_decay
    if parametrization_of(model) == "mup":
        from archscale.nn.mup import mup_sgd

        return mup_sgd(model, lr=config.lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=schedule(0), momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )


def train(
    model: nn.Module,
    splits: Splits,
    config: TrainConfig,
    on_epoch: Callable[[EpochMetrics], bool | None] | None = None,
) -> TrainResult:
    """Train `model` (moved to the config's device) on `splits.train`; evaluate on val and test each epoch.

    After every epoch `on_epoch(metrics)` is called; returning True stops the run (status STOPPED
    unless that was the last epoch anyway). A non-finite training loss ends the run with status
    DIVERGED, without an exception. On the CPU a seed gives bit-identical results for the same
    initial model and thread count.
    """
    started = time.perf_counter()
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise UserError(f"dataset {splits.name}: the training and test splits must not be empty")
    device = resolve_device(config.device)
    cuda = device.type == "cuda"
    with threads(config.threads):
        torch.manual_seed(config.seed)
        data = splits.to(device)
        model.to(device)
        channels_last = config.channels_last and cuda and len(data.input_shape) == 3
        if channels_last:
            model.to(memory_format=torch.channels_last)
        if cuda:
            torch.backends.cudnn.benchmark = True
        generator = torch.Generator(device=device).manual_seed(config.seed)
        batches = BatchIterator(
            data.train, config.batch_size, generator=generator, augment=_augmentation(data, config, generator)
        )
        total_steps = config.epochs * len(batches)
        if config.max_steps is not None:
            total_steps = min(total_steps, config.max_steps)
        schedule = LRSchedule(
            lr=config.lr,
            total_steps=total_steps,
            warmup_steps=round(config.warmup_epochs * len(batches)),
            cosine=config.schedule == "cosine",
        )
        optimizer = _optimizer(model, config, schedule)

        forward = _forward(model, bf16=cuda and config.bf16, channels_last=channels_last)
        status, step, device_seconds = Status.COMPLETED, 0, 0.0
        history: list[EpochMetrics] = []
        epochs = math.ceil(total_steps / len(batches))
        check_every = CUDA_CHECK_EVERY if cuda else 1
        for epoch in range(1, epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            trained = _train_epoch(forward, batches, optimizer, schedule, step, check_every)
            step += trained.steps
            if not trained.finite:
                device_seconds += time.perf_counter() - epoch_start
                status = Status.DIVERGED
                break
            model.eval()
            val = _evaluate(forward, data.val, config.eval_batch_size) if len(data.val) else None
            test = _evaluate(forward, data.test, config.eval_batch_size)
            seconds = time.perf_counter() - epoch_start
            device_seconds += seconds
            metrics = EpochMetrics(
                epoch=epoch,
                steps=step,
                lr=schedule(step),
                train_loss=trained.mean,
                train_loss_tail=trained.tail,
                train_accuracy=trained.accuracy,
                val_loss=None if val is None else val[0],
                val_accuracy=None if val is None else val[1],
                test_loss=test[0],
                test_accuracy=test[1],
                seconds=seconds,
                device_seconds=device_seconds,
            )
            history.append(metrics)
            if on_epoch is not None and on_epoch(metrics) is True and epoch < epochs:
                status = Status.STOPPED
                break
    return TrainResult(status, history, step, device_seconds, time.perf_counter() - started)
