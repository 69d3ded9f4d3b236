"""What a training run reports: one `EpochMetrics` per epoch and a `TrainResult` at the end."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """How a run ended.

    COMPLETED: it used its whole budget (epochs, or `max_steps`). STOPPED: the epoch callback asked
    it to stop before that (an early-stopping scheduler). DIVERGED: a training loss was NaN or
    infinite; the epoch it happened in is not reported.
    """

    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics after one epoch (1-based). Losses are mean cross-entropy, accuracies top-1 over all classes.

    - `train_loss`: the epoch's mean training loss, each step weighted by its batch size (the
      paper's code's "loss at the end of one epoch"); `train_loss_tail`: the mean loss of the last
      10% of the epoch's steps (at least one), the other reading of it (paper-spec §4.5, D17).
    - `train_accuracy`: accuracy on the training batches as they were trained on (train mode, augmented).
    - `val_*`: None when the validation split is empty.
    - `lr`: the learning rate the next step would use (0 after the last step of a cosine run).
    - `steps`: optimizer steps so far; `seconds`: this epoch, training and evaluation;
      `device_seconds`: the run's epochs so far.
    """

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


@dataclass(frozen=True)
class TrainResult:
    """The outcome of `train`. `epochs` holds every reported epoch; `steps` counts optimizer steps.

    `device_seconds` is the time spent in epochs (the search cost to charge), including a diverged
    run's unreported last epoch; `wall_seconds` is the whole call, with moving the model and data to
    the device and building the optimizer.
    """

    status: Status
    epochs: list[EpochMetrics]
    steps: int
    device_seconds: float
    wall_seconds: float
