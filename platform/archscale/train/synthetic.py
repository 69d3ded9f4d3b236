"""The synthetic trainer of `archscale run --simulate`: deterministic metrics at once, no arithmetic of
training, so that the plan, Ray Tune, packs, searches, early stopping, the recorder, the database and the
reports can be measured at any scale. Its numbers are never results: studies run with it are marked
simulated in the database and in every report.

The metric function, of a run's LR η, the paper's LR scale s of its architecture (`principled_scale`:
(S_base/S)^(1/2), 1 when unknown), the epoch e and the seed:

- the optimal LR is η*(s) = 0.2 · s^0.9, so the paper's rule is nearly, not exactly, right;
- a run with η > 8 · η*(s) diverges in its first epoch (no epoch reported, status diverged);
- otherwise its accuracy is a(η, e) = c + (0.9 − c) · q · (1 − 0.6^e), with c = 1/classes and
  q = exp(−ln²(η/η*) / 2): one natural-log unit of LR off the optimum costs a factor e^(−1/2) of the gain;
- validation and test accuracy add a noise uniform in ±0.01 drawn from (seed, epoch, η, split) by a hash
  (the same on every machine and in any pack); training accuracy is a + 0.02; every loss is −ln(accuracy).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from archscale.train.metrics import EpochMetrics, Status, TrainResult

OPTIMUM = 0.2
EXPONENT = 0.9
DIVERGES_ABOVE = 8.0
PEAK = 0.9
NOISE = 0.01


@dataclass(frozen=True)
class SyntheticRun:
    """One member: its LR, its architecture's LR scale, its seed, epochs and number of classes."""

    lr: float
    scale: float
    seed: int
    epochs: int
    classes: int


def optimal_lr(scale: float) -> float:
    return OPTIMUM * scale**EXPONENT


def diverges(run: SyntheticRun) -> bool:
    return run.lr > DIVERGES_ABOVE * optimal_lr(run.scale)


def accuracy(run: SyntheticRun, epoch: int) -> float:
    """The noise-free accuracy after `epoch` (see the module's docstring)."""
    chance = 1.0 / run.classes
    quality = math.exp(-(math.log(run.lr / optimal_lr(run.scale)) ** 2) / 2)
    return chance + (PEAK - chance) * quality * (1 - 0.6**epoch)


def _noise(run: SyntheticRun, epoch: int, split: str) -> float:
    digest = hashlib.blake2b(f"{run.seed}|{epoch}|{run.lr!r}|{split}".encode(), digest_size=8).digest()
    return NOISE * (2 * int.from_bytes(digest, "big") / 2**64 - 1)


def epoch_metrics(run: SyntheticRun, epoch: int) -> EpochMetrics:
    """Run `run`'s metrics after `epoch` (1-based)."""
    mean = accuracy(run, epoch)
    val, test = (min(1.0, max(1e-3, mean + _noise(run, epoch, split))) for split in ("val", "test"))
    train = min(1.0, mean + 0.02)
    return EpochMetrics(
        epoch=epoch,
        steps=epoch,
        lr=run.lr,
        train_loss=-math.log(train),
        train_loss_tail=-math.log(train),
        train_accuracy=train,
        val_loss=-math.log(val),
        val_accuracy=val,
        test_loss=-math.log(test),
        test_accuracy=test,
        seconds=0.0,
        device_seconds=0.0,
    )


def simulate_pack(
    runs: Sequence[SyntheticRun],
    on_epoch: Callable[[int, EpochMetrics], bool | None],
    after_epoch: Callable[[int], Iterable[int] | None],
) -> list[TrainResult]:
    """`archscale.train.train_pack`'s protocol with the synthetic metrics: after every epoch
    `on_epoch(k, metrics)` for each member still training (True stops it), then `after_epoch(epoch)`,
    which may return more members to stop. A diverging member reports no epoch."""
    started = time.perf_counter()
    training = {k for k, run in enumerate(runs) if not diverges(run)}
    reported: list[list[EpochMetrics]] = [[] for _ in runs]
    stopped: set[int] = set()
    for epoch in range(1, max((r.epochs for r in runs), default=0) + 1):
        for k in sorted(training):
            if epoch > runs[k].epochs:
                training.discard(k)
                continue
            metrics = epoch_metrics(runs[k], epoch)
            reported[k].append(metrics)
            if on_epoch(k, metrics) and epoch < runs[k].epochs:
                stopped.add(k)
        for k in after_epoch(epoch) or ():
            if epoch < runs[k].epochs:
                stopped.add(k)
        training -= stopped
        if not training:
            break
    wall = time.perf_counter() - started
    return [
        TrainResult(
            Status.DIVERGED if diverges(run) else Status.STOPPED if k in stopped else Status.COMPLETED,
            reported[k],
            len(reported[k]),
            0.0,
            wall / max(1, len(runs)),
        )
        for k, run in enumerate(runs)
    ]
