"""The Ray Tune trainable: one trial = build the model, initialise it, train, report every epoch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from archscale.execution.messages import EpochReport, TrialEnd, TrialRequest

if TYPE_CHECKING:
    from archscale.data import Splits
    from archscale.train import EpochMetrics


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a study needs besides its request; plain data, shipped to workers once per
    phase: the dataset's `load_dataset` keywords, `build_model` keywords, the architectures (notation,
    family, kernel size, width override) and CPU threads per trial."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    archs: dict[str, tuple[Any, str, int | None, int | None]]
    threads: int


def run_trial(config: dict[str, Any], context: TrialContext) -> None:
    """Train the trial in `config` and report an `EpochReport` per epoch, then its `TrialEnd`."""
    import ray
    import torch
    from ray import tune

    from archscale.graph import parse_architecture
    from archscale.nn import build_model, init_model
    from archscale.train import TrainConfig, train

    request = TrialRequest.of(config)
    notation, family, kernel, width = context.archs[request.arch_key]
    arch = parse_architecture(notation, family, kernel or 3)
    splits = _splits(context)
    torch.manual_seed(request.seed)
    options = {**context.model, "width": width or context.model["width"], **request.model}
    model = build_model(arch, classes=splits.num_classes, input_shape=splits.input_shape, **options)
    params = sum(p.numel() for p in model.parameters())
    init = dict(request.init)
    init_model(model, init.pop("init"), **init)
    recipe = TrainConfig(**request.recipe, lr=request.lr, seed=request.seed, threads=context.threads)

    def on_epoch(m: EpochMetrics) -> None:
        tune.report(EpochReport(**asdict(m), params=params).result())

    result = train(model, splits, recipe, on_epoch)
    on_cuda = next(model.parameters()).is_cuda
    end = TrialEnd(
        status=result.status.value,
        device_seconds=result.device_seconds,
        wall_seconds=result.wall_seconds,
        device_kind=torch.cuda.get_device_name() if on_cuda else "cpu",
        node_id=ray.get_runtime_context().get_node_id(),
    )
    tune.report(end.result())


_LOADED: dict[str, Splits] = {}


def _splits(context: TrialContext) -> Splits:
    """The dataset, loaded once per worker process (trials share it; Tune reuses the actors)."""
    from archscale.data import load_dataset

    key = repr(sorted(context.dataset.items()))
    if key not in _LOADED:
        _LOADED[key] = load_dataset(**context.dataset)
    return _LOADED[key]
