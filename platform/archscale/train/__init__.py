"""One training run: a `TrainConfig`, `train(model, splits, config, on_epoch)`, per-epoch metrics.

    result = train(model, load_dataset("mnist1d"), TrainConfig(lr=0.05, epochs=10), on_epoch=report)

Knows nothing of Ray or databases: callers report `EpochMetrics` wherever they like from `on_epoch`.
`train_pack` trains K runs of one architecture as one packed model (`archscale.nn.pack_models`); both
are thin over one core (`archscale.train.core.fit`), and `archscale.train.parametrization` says which
models may pack and which optimizer each trains with.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "EpochMetrics": "metrics",
    "LRSchedule": "schedule",
    "Status": "metrics",
    "TrainConfig": "config",
    "TrainResult": "metrics",
    "pack_key": "packed",
    "pack_size_auto": "packed",
    "resolve_device": "device",
    "train": "loop",
    "train_pack": "packed",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so that `archscale.train.config` (read by the study schema) needs no torch."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


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
