"""One training run: a model alone, trained by the core (`archscale.train.core.fit`) as its only member.

The model steps with torch's SGD (MuSGD for a μP model: `archscale.train.parametrization`) at each
step's LR as a Python float, on the batch's mean cross-entropy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from archscale.data import BatchIterator, Splits
from archscale.train.config import TrainConfig
from archscale.train.core import Setup, fit
from archscale.train.device import on_device, place
from archscale.train.metrics import EpochMetrics, TrainResult
from archscale.train.parametrization import set_lr, sgd


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
    callback = None if on_epoch is None else lambda _, metrics: on_epoch(metrics)
    return fit(splits, [config], lambda setup: _Alone(model, setup), callback)[0]


class _Alone:
    """A model as the core's only member (`archscale.train.core.Members`)."""

    def __init__(self, model: nn.Module, setup: Setup) -> None:
        config, schedule = setup.configs[0], setup.schedules[0]
        place(model, setup.device, setup.channels_last)
        self.model = model
        self.schedule = schedule
        self.optimizer = sgd(model, config, schedule(0))
        self.forward = on_device(model, bf16=setup.bf16, channels_last=setup.channels_last)
        augment = None if setup.augments is None else setup.augments[0]
        self.batches = BatchIterator(
            setup.data.train, config.batch_size, generator=setup.generators[0], augment=augment
        )

    def step(self, x: Tensor, y: Tensor, step: int, active: Tensor) -> tuple[Tensor, Tensor]:
        """The step at the schedule's LR (`active` is 1: `fit` steps a run alone only while it trains)."""
        set_lr(self.optimizer, self.schedule(step))
        logits = self.forward(x)
        loss = F.cross_entropy(logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach().view(1), (logits.argmax(1) == y).sum().view(1)

    def evaluate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.forward(x).float()
        return F.cross_entropy(logits, y, reduction="sum").view(1), (logits.argmax(1) == y).sum().view(1)

    def train(self, mode: bool) -> None:
        self.model.train(mode)

    def keep(self, places: Sequence[int]) -> None:
        """Nothing to keep: members leave only while others go on, and a model alone has no other."""
