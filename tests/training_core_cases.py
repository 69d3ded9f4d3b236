"""Training runs whose every epoch's metrics are pinned in `fixtures/training_core_golden.json`: the
unpacked trainer (MLP, CNN with augmentation, momentum with cosine and warmup, μP, a traced user
module, a run stopped by its callback, a diverging one, the quickstart's training) and packs (mixed
members with divergence and early stopping, a CNN, the quickstart's final runs).

`python tests/training_core_cases.py` rewrites the fixture from the code as it is; only do that when a
change of the numbers is intended. Every run is on the CPU with one thread, so that the bits are a
function of the code, torch's version and the CPU's instruction set (recorded with the fixture).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from archscale.data import Splits, load_dataset
from archscale.graph import module_origin, parse_architecture
from archscale.nn import build_model, init_model, pack_models
from archscale.nn.traced import build_traced
from archscale.train import EpochMetrics, TrainConfig, TrainResult, train, train_pack

GOLDEN = Path(__file__).parent / "fixtures" / "training_core_golden.json"
TIMES = ("seconds", "device_seconds")
CPU = {"device": "cpu", "threads": 1}
QUICKSTART = {"epochs": 5, "batch_size": 32, "momentum": 0.9, "schedule": "cosine", **CPU}
"""studies/quickstart.yaml's `training:` block."""


def machine() -> dict[str, str]:
    """What the fixture's bits depend on besides the code."""
    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def _digits() -> Splits:
    return load_dataset("digits", flatten=True, val_fraction=0.1, limit=600)


def _images(val_fraction: float = 0.25) -> Splits:
    return load_dataset("synthetic", shape=(3, 8, 8), classes=4, train_size=96, test_size=32, val_fraction=val_fraction)


def _quickstart_data() -> Splits:
    """The quickstart's dataset (mnist1d, val_fraction 0.2, split_seed 0) at a small size."""
    return load_dataset("mnist1d", val_fraction=0.2, split_seed=0, limit=1000, test_limit=300)


def _model(arch: str, family: str, seed: int, init: str | None, **spec: object) -> nn.Module:
    torch.manual_seed(seed)
    model = build_model(parse_architecture(arch, family), **spec)
    if init is not None:
        init_model(model, init)
    return model


def _quickstart_model(seed: int) -> nn.Module:
    """An architecture of the quickstart (a skip around one block) in its model settings, narrower."""
    return _model("2_10_011_0001", "mlp", seed, "architecture-aware", width=32, classes=10, input_shape=(40,))


def _stop_at(epoch: int) -> Callable[[EpochMetrics], bool]:
    return lambda m: m.epoch == epoch


def mlp_constant_warmup() -> list[TrainResult]:
    model = _model("2_02", "mlp", 0, "kaiming", width=32, classes=10, input_shape=(64,))
    config = TrainConfig(lr=0.05, epochs=3, momentum=0.0, schedule="constant", warmup_epochs=0.5, seed=1, **CPU)
    return [train(model, _digits(), config)]


def mlp_momentum_cosine_max_steps() -> list[TrainResult]:
    model = _model("2_22", "mlp", 1, "architecture-aware", width=32, classes=10, input_shape=(64,))
    config = TrainConfig(lr=0.1, epochs=3, max_steps=40, momentum=0.9, schedule="cosine", seed=2, **CPU)
    return [train(model, _digits(), config)]


def cnn_augment_nesterov() -> list[TrainResult]:
    model = _model("2_02", "cnn", 2, "kaiming", width=4, classes=4, input_shape=(3, 8, 8), batch_norm=True)
    config = TrainConfig(
        lr=0.05, epochs=2, batch_size=16, momentum=0.9, nesterov=True, weight_decay=5e-4, augment=True, seed=3, **CPU
    )
    return [train(model, _images(val_fraction=0.0), config)]  # no validation split


def mup_mlp() -> list[TrainResult]:
    torch.manual_seed(4)
    model = build_model(
        parse_architecture("2_02", "mlp"),
        width=64,
        classes=10,
        input_shape=(64,),
        parametrization="mup",
        mup_base_width=32,
    )
    config = TrainConfig(lr=0.05, epochs=2, momentum=0.9, weight_decay=1e-4, schedule="cosine", seed=4, **CPU)
    return [train(model, _digits(), config)]


def traced_module() -> list[TrainResult]:
    torch.manual_seed(5)
    model = build_traced(
        module_origin("plain_nets:skip_mlp", {"blocks": 1, "width": 16}), classes=10, input_shape=(40,)
    )
    init_model(model, "architecture-aware")
    return [train(model, _quickstart_data(), TrainConfig(lr=0.05, epochs=2, seed=5, **CPU))]


def stopped_by_callback() -> list[TrainResult]:
    model = _model("2_02", "mlp", 6, "kaiming", width=32, classes=10, input_shape=(64,))
    config = TrainConfig(lr=0.05, epochs=4, seed=6, **CPU)
    return [train(model, _digits(), config, on_epoch=_stop_at(2))]


def diverged() -> list[TrainResult]:
    """Diverges in its second epoch, at the end of the warmup: one epoch is reported."""
    model = _model("2_02", "mlp", 7, "kaiming", width=32, classes=10, input_shape=(64,))
    config = TrainConfig(lr=1.5, epochs=3, momentum=0.0, schedule="constant", warmup_epochs=1.0, seed=7, **CPU)
    return [train(model, _digits(), config)]


def quickstart_alone() -> list[TrainResult]:
    return [train(_quickstart_model(0), _quickstart_data(), TrainConfig(lr=0.05, seed=0, **QUICKSTART))]


def pack_mixed() -> list[TrainResult]:
    """Members that differ in everything a member may: one diverges mid-epoch, one is stopped by its
    callback, one by the epoch's joint rule (`after_epoch`)."""
    models = [_model("2_02", "mlp", seed, "kaiming", width=32, classes=10, input_shape=(64,)) for seed in range(5)]
    common = {"epochs": 3, "batch_size": 32, **CPU}
    configs = [
        TrainConfig(lr=0.05, momentum=0.0, schedule="constant", seed=0, **common),
        TrainConfig(lr=0.1, momentum=0.9, schedule="cosine", seed=1, **common),
        TrainConfig(lr=0.02, momentum=0.9, nesterov=True, weight_decay=5e-4, warmup_epochs=0.5, seed=2, **common),
        TrainConfig(lr=30.0, momentum=0.0, schedule="constant", seed=3, **common),
        TrainConfig(lr=0.05, momentum=0.5, schedule="cosine", seed=4, **common),
    ]
    return train_pack(
        pack_models(models),
        _digits(),
        configs,
        on_epoch=lambda k, m: k == 1 and m.epoch == 1,
        after_epoch=lambda epoch: [4] if epoch == 2 else None,
    )


def pack_cnn_augment() -> list[TrainResult]:
    models = [
        _model("2_02", "cnn", seed, "kaiming", width=4, classes=4, input_shape=(3, 8, 8), batch_norm=True)
        for seed in range(2)
    ]
    common = {"epochs": 2, "batch_size": 16, "augment": True, **CPU}
    configs = [
        TrainConfig(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4, seed=0, **common),
        TrainConfig(lr=0.02, momentum=0.9, seed=1, **common),
    ]
    return train_pack(pack_models(models), _images(), configs)


def quickstart_pack() -> list[TrainResult]:
    """The quickstart's final runs of one architecture: its three seeds in one pack."""
    models = [_quickstart_model(seed) for seed in range(3)]
    configs = [TrainConfig(lr=0.05, seed=seed, **QUICKSTART) for seed in range(3)]
    return train_pack(pack_models(models), _quickstart_data(), configs)


CASES: dict[str, Callable[[], list[TrainResult]]] = {
    case.__name__: case
    for case in (
        mlp_constant_warmup,
        mlp_momentum_cosine_max_steps,
        cnn_augment_nesterov,
        mup_mlp,
        traced_module,
        stopped_by_callback,
        diverged,
        quickstart_alone,
        pack_mixed,
        pack_cnn_augment,
        quickstart_pack,
    )
}


def record(results: Sequence[TrainResult]) -> list[dict[str, object]]:
    """Each result's status, steps and every epoch's metrics but times, floats as `repr` (exact)."""
    return [
        {
            "status": r.status.value,
            "steps": r.steps,
            "epochs": [{k: repr(v) for k, v in dataclasses.asdict(m).items() if k not in TIMES} for m in r.epochs],
        }
        for r in results
    ]


def main() -> None:
    golden = {"machine": machine(), "cases": {name: record(case()) for name, case in CASES.items()}}
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {GOLDEN} ({len(CASES)} cases)", file=sys.stderr)


if __name__ == "__main__":
    main()
