"""One training run: a `TrainConfig`, `train(model, splits, config, on_epoch)`, per-epoch metrics.

    result = train(model, load_dataset("mnist1d"), TrainConfig(lr=0.05, epochs=10), on_epoch=report)

Knows nothing of Ray or databases: callers report `EpochMetrics` wherever they like from `on_epoch`.
`train_pack` trains K runs of one architecture as one packed model (`archscale.nn.pack_models`).
"""

from archscale.train.config import TrainConfig
from archscale.train.loop import resolve_device, train
from archscale.train.metrics import EpochMetrics, Status, TrainResult
from archscale.train.packed import pack_key, pack_size_auto, train_pack
from archscale.train.schedule import LRSchedule

__all__ = [
    "EpochMetrics",
    "LRSchedule",
    "Status",
    "TrainConfig",
    "TrainResult",
    "pack_key",
    "pack_size_auto",
    "resolve_device",
    "train",
    "train_pack",
]
