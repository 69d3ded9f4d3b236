"""The Ray Tune trainable: one trial = build the model, initialise it, train, report every epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archscale.execution.context import TrialContext
from archscale.execution.outcome import TIME_ATTR

if TYPE_CHECKING:
    from archscale.data import Splits
    from archscale.train import TrainConfig


def run_trial(config: dict[str, Any], context: TrialContext) -> None:
    """Train the unit in `config` (its architecture, seed, init and `lr`) and report each epoch's
    metrics with `tune.report`; a last report carries how the run ended (no `epoch` key)."""
    import ray
    import torch
    from ray import tune

    from archscale.graph import parse_architecture
    from archscale.nn import build_model, init_model
    from archscale.train import train

    unit = config["unit"]
    notation, family, kernel, width = context.archs[unit["arch_key"]]
    arch = parse_architecture(notation, family, kernel or 3)
    splits = _splits(context)
    torch.manual_seed(unit["seed"])
    model = build_model(
        arch,
        width=width or context.model["width"],
        cells=context.model["cells"],
        classes=splits.num_classes,
        input_shape=splits.input_shape,
        batch_norm=context.model["batch_norm"],
    )
    params = sum(p.numel() for p in model.parameters())
    init = dict(unit["init"])
    init_model(model, init.pop("init"), **init)
    recipe = _recipe(context, unit["strategy"], float(config["lr"]), unit["seed"])

    def on_epoch(m: Any) -> None:
        tune.report(
            {
                TIME_ATTR: m.epoch,
                "params": params,
                "train_loss": m.train_loss,
                "train_loss_tail": m.train_loss_tail,
                "train_acc": m.train_acc,
                "val_loss": m.val_loss,
                "val_acc": m.val_acc,
                "test_loss": m.test_loss,
                "test_acc": m.test_acc,
                "lr": m.lr,
                "seconds": m.seconds,
                "device_seconds": m.device_seconds,
            }
        )

    result = train(model, splits, recipe, on_epoch)
    device = "cuda" if next(model.parameters()).is_cuda else "cpu"
    tune.report(
        {
            "status": result.status.value,
            "device_seconds": result.device_seconds,
            "wall_seconds": result.wall_seconds,
            "device_kind": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "node_id": ray.get_runtime_context().get_node_id(),
        }
    )


_LOADED: dict[str, Splits] = {}


def _splits(context: TrialContext) -> Splits:
    """The dataset, loaded once per worker process (trials share it; Tune reuses the actors)."""
    from archscale.data import load_dataset

    d = context.dataset
    key = repr(sorted(d.items()))
    if key not in _LOADED:
        _LOADED[key] = load_dataset(
            d["name"],
            root=d["root"],
            val_fraction=d["val_fraction"],
            split_seed=d["split_seed"],
            limit=d["limit"],
            test_limit=d["test_limit"],
            **d["options"],
        )
    return _LOADED[key]


def _recipe(context: TrialContext, strategy: str, lr: float, seed: int) -> TrainConfig:
    from archscale.train import TrainConfig

    t = context.training
    optimizer, schedule, epochs = t["optimizer"], t["schedule"], t["epochs"]
    if strategy == "probe" and context.probe is not None:
        optimizer, schedule, epochs = context.probe["optimizer"], context.probe["schedule"], context.probe["epochs"]
    return TrainConfig(
        lr=lr,
        epochs=epochs,
        max_steps=t["max_steps"],
        batch_size=t["batch_size"],
        momentum=optimizer["momentum"],
        nesterov=optimizer["nesterov"],
        weight_decay=optimizer["weight_decay"],
        schedule=schedule,
        warmup_epochs=t["warmup_epochs"],
        seed=seed,
        device=t["device"],
        bf16=t["bf16"],
        channels_last=t["channels_last"],
        threads=context.threads,
        augment=t["augment"],
    )
