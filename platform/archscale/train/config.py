"""The settings of one training run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from archscale.errors import UserError

ScheduleName = Literal["constant", "cosine"]
DeviceName = Literal["auto", "cpu", "cuda"]

PER_MEMBER_FIELDS = frozenset({"lr", "momentum", "nesterov", "weight_decay", "schedule", "warmup_epochs", "seed"})
"""The `TrainConfig` fields in which the members of a pack (`archscale.train.train_pack`) may differ."""


@dataclass(frozen=True)
class TrainConfig:
    """One run: SGD over all parameters with one learning rate (paper-spec D12), cross-entropy loss.

    These defaults are the only ones: a study's `training:` block (`archscale.study.spec.TrainingSpec`)
    takes its defaults from here. The paper's one-epoch LR probe (paper-spec §4.5) is `epochs=1,
    batch_size=128, momentum=0.0, schedule="constant"`; NAS-Bench-201 training is `momentum=0.9,
    nesterov=True, weight_decay=5e-4, batch_size=256, schedule="cosine", augment=True` over 200 epochs.

    - `epochs`: passes over the training split; `max_steps` caps the optimizer steps of the whole
      run (the last epoch is then partial), as the paper's `--steps`.
    - `schedule`: per-step LR; `cosine` decays from `lr` to 0 over the steps after warmup.
    - `warmup_epochs`: linear ramp over that many epochs (fractions allowed) that ends at this run's
      own `lr` (never at an unscaled base LR: paper-spec D16).
    - `seed`: data order and augmentation (and torch's global RNG, for layers like dropout). The
      model's initial weights are the caller's business.
    - `device`: `auto` picks CUDA when available. `bf16` (autocast) and `channels_last` apply on
      CUDA only and are ignored on the CPU.
    - `threads`: `torch.set_num_threads` for the run (restored afterwards); None leaves it alone.
    - `augment`: the dataset's standard random crop + horizontal flip, done on the device.
    """

    lr: float
    epochs: int = 5
    max_steps: int | None = None
    batch_size: int = 32
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: ScheduleName = "cosine"
    warmup_epochs: float = 0.0
    seed: int = 0
    device: DeviceName = "auto"
    bf16: bool = False
    channels_last: bool = False
    threads: int | None = None
    augment: bool = False
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        problems = [
            ("lr", 0 < self.lr < math.inf, "must be a positive number"),
            ("epochs", self.epochs >= 1, "must be >= 1"),
            ("max_steps", self.max_steps is None or self.max_steps >= 1, "must be >= 1 when given"),
            ("batch_size", self.batch_size >= 1, "must be >= 1"),
            ("momentum", 0 <= self.momentum < 1, "must be in [0, 1)"),
            ("nesterov", not self.nesterov or self.momentum > 0, "needs momentum > 0"),
            ("weight_decay", self.weight_decay >= 0, "must be >= 0"),
            ("schedule", self.schedule in ("constant", "cosine"), "must be 'constant' or 'cosine'"),
            ("warmup_epochs", self.warmup_epochs >= 0, "must be >= 0"),
            ("device", self.device in ("auto", "cpu", "cuda"), "must be 'auto', 'cpu' or 'cuda'"),
            ("threads", self.threads is None or self.threads >= 1, "must be >= 1 when given"),
            ("eval_batch_size", self.eval_batch_size >= 1, "must be >= 1"),
        ]
        for name, ok, rule in problems:
            if not ok:
                raise UserError(f"training setting {name} {rule}, got {getattr(self, name)!r}")
