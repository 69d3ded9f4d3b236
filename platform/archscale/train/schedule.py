"""The per-step learning rate of a run: linear warmup to the run's LR, then constant or cosine to 0."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LRSchedule:
    """`self(step)` is the LR of optimizer step `step` (0-based) of a run of `total_steps` steps.

    Warmup steps ramp linearly, `lr · (step + 1) / warmup_steps`, so the last warmup step uses
    exactly `lr`. After warmup the LR stays at `lr` (constant) or follows `lr · (1 + cos(π t)) / 2`
    with t going from 0 at the first post-warmup step to 1 at `step == total_steps`: `self(total_steps)`,
    the LR after the run, is 0 for cosine.
    """

    lr: float
    total_steps: int
    warmup_steps: int = 0
    cosine: bool = False

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if not self.cosine:
            return self.lr
        t = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        return 0.5 * self.lr * (1 + math.cos(math.pi * min(t, 1.0)))
