"""The Ray Tune trainable: one trial trains a pack of runs of one architecture (a run alone is a pack
of one): build and initialise each member's model, train them as one packed model, and report every
epoch of every member. On the CPU a member computes the same bits in a pack of any size (`nn.packed`,
`train.packed`), so `resources.pack` changes no result; μP runs train alone, unpacked (`train.loop`,
whose rounding may differ from a pack's in the last digits)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from archscale.execution.early_stopping import EarlyStopping, Report
from archscale.execution.messages import EpochReport, TrialEnd, TrialRequest, end_result, epoch_result, members_of

if TYPE_CHECKING:
    from torch import Tensor, nn

    from archscale.data import Splits
    from archscale.graph import ModuleOrigin
    from archscale.nn.packed import PackedModel
    from archscale.train import EpochMetrics, TrainConfig, TrainResult


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a study needs besides its requests; plain data, shipped to workers once per
    phase: the dataset's `load_dataset` keywords, `build_model` keywords, the architectures (notation,
    family, kernel size, width override), CPU threads per trial, the phase's early stopping (None when
    no search stops early), whether a pack may be trained in parts to fit the worker's memory
    (`pack: auto`), the trial's share of its device (GPUs per trial; on CPU-only trials, its CPUs
    over the node's), for `archscale run --simulate`, what the synthetic trainer needs, the user's
    module behind each architecture of a `family: torch` study, and the study's `imports:` and
    `python_path`."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    archs: dict[str, tuple[Any, str, int | None, int | None]]
    threads: int
    early_stopping: EarlyStopping | None = None
    fit_memory: bool = False
    gpu_share: float = 0.0
    simulation: Simulation | None = None
    origins: dict[str, ModuleOrigin] = field(default_factory=dict)
    imports: tuple[str, ...] = ()
    python_path: tuple[str, ...] = ()

    def memory_share(self) -> float:
        """This trial's share of its device's memory."""
        import os

        return self.gpu_share if self.gpu_share > 0 else self.threads / max(1, os.cpu_count() or 1)


def run_trial(config: dict[str, Any], context: TrialContext) -> None:
    """Train the trial's members and report an epoch result per epoch, then their ends (after the
    worker's plugins and the study's `imports:` are loaded: they may register its dataset or init)."""
    from archscale.plugins import prepare_process

    prepare_process(context.imports, context.python_path)
    requests = members_of(config)
    if context.simulation is not None:
        _run_simulated(requests, context, context.simulation)
        return
    import torch

    from archscale.train import TrainConfig, train, train_pack
    from archscale.train.parametrization import trains_alone

    splits = _splits(context)
    models = _models(requests, context, splits)
    params = sum(p.numel() for p in models[0].parameters())
    configs = [TrainConfig(**r.recipe, lr=r.lr, seed=r.key.seed, threads=context.threads) for r in requests]
    reports = _EpochReports(context, requests, params)

    def on_epoch(m: EpochMetrics) -> bool:
        reports.add(0, m)
        return bool(reports.flush())

    if trains_alone(models[0]):  # μP, or a user's module (family torch)
        results: list[TrainResult] = [train(models[0], splits, configs[0], on_epoch)]
        on_cuda = next(models[0].parameters()).is_cuda
    else:  # a run alone is a pack of one: on the CPU a member computes the same bits beside any companions
        results = []
        for first, last in _fitting_packs(models, splits, configs[0], context):

            def on_part_epoch(k: int, m: EpochMetrics, first: int = first) -> None:
                reports.add(first + k, m)

            def after_part_epoch(_: int, first: int = first) -> list[int]:
                return [k - first for k in reports.flush()]

            packed = _packed(models[first:last])
            results += train_pack(packed, splits, configs[first:last], on_part_epoch, after_epoch=after_part_epoch)
        on_cuda = next(packed.parameters()).is_cuda
    reports.flush()
    _report_ends(results, torch.cuda.get_device_name() if on_cuda else "cpu")


class _EpochReports:
    """The members' epochs of a trial, reported to Tune together once the epoch is over (after early
    stopping has judged them)."""

    def __init__(self, context: TrialContext, requests: list[TrialRequest], params: int) -> None:
        self._context, self._requests, self._params = context, requests, params
        self._pending: list[EpochReport] = []

    def add(self, member: int, m: EpochMetrics) -> None:
        self._pending.append(EpochReport(**asdict(m), params=self._params, member=member))

    def flush(self) -> list[int]:
        """Report the epoch's members to Tune; return those that early stopping stops."""
        from ray import tune

        if not self._pending:
            return []
        stops = _judge(self._context.early_stopping, self._requests, self._pending)
        tune.report(epoch_result(list(self._pending)))
        self._pending.clear()
        return stops


def _report_ends(results: list[TrainResult], device: str) -> None:
    """Report every member's end (status, times, device, node) to Tune."""
    import ray
    from ray import tune

    node = ray.get_runtime_context().get_node_id()
    ends = [
        TrialEnd(r.status.value, r.device_seconds, r.wall_seconds, device, node, member)
        for member, r in enumerate(results)
    ]
    tune.report(end_result(ends))


@dataclass(frozen=True)
class Simulation:
    """What `archscale run --simulate`'s synthetic trainer (`archscale.train.synthetic`) needs: the
    dataset's number of classes and each architecture's LR scale (`principled_scale`), by key."""

    classes: int
    scales: dict[str, float]


def _run_simulated(requests: list[TrialRequest], context: TrialContext, simulation: Simulation) -> None:
    """`run_trial` with the synthetic trainer: the same reports, early stopping and ends, no model, no
    data. Members may be of different architectures (simulated packs are not one model)."""
    from archscale.train.synthetic import SyntheticRun, simulate_pack

    runs = [
        SyntheticRun(r.lr, simulation.scales.get(r.key.arch_key, 1.0), r.key.seed, r.budget, simulation.classes)
        for r in requests
    ]
    reports = _EpochReports(context, requests, 0)

    def on_epoch(member: int, m: EpochMetrics) -> bool:
        reports.add(member, m)
        return False

    results = simulate_pack(runs, on_epoch, lambda _: reports.flush())
    _report_ends(results, "simulated")


def _fitting_packs(
    models: list[nn.Module], splits: Splits, config: TrainConfig, context: TrialContext
) -> list[tuple[int, int]]:
    """The member ranges to train one after the other: all at once, or (with `fit_memory`) packs as
    large as `pack_size_auto` finds room for in the trial's share of its device's total memory."""
    if not context.fit_memory:
        return [(0, len(models))]
    from archscale.train import resolve_device
    from archscale.train.packed import pack_size_auto

    device = resolve_device(config.device)
    size = pack_size_auto(
        models[0],
        splits.input_shape,
        config.batch_size,
        device,
        runs=len(models),
        cap=len(models),
        share=context.memory_share(),
    )
    return [(first, min(first + size, len(models))) for first in range(0, len(models), size)]


def _judge(stopping: EarlyStopping | None, requests: list[TrialRequest], reports: list[EpochReport]) -> list[int]:
    """The reported members that early stopping stops (none without it, or without a validation score)."""
    if stopping is None:
        return []
    members: list[int] = []
    asks: list[Report] = []
    for r in reports:
        search = requests[r.member].search
        if r.val_accuracy is not None and search is not None:
            members.append(r.member)
            asks.append(Report(search, requests[r.member].key.trial_number, r.epoch, r.val_accuracy))
    return [member for member, stop in zip(members, stopping.stop(asks), strict=True) if stop]


def _models(requests: list[TrialRequest], context: TrialContext, splits: Splits) -> list[nn.Module]:
    """Each member's initial model. Members with the same seed, init and build options start from
    the same weights, so each distinct one is built once and shared: within a pack, and across the
    worker's packs of one architecture (`_INITIAL`), since packing copies the weights. A pack of one
    trains its only model in place, so it gets a model of its own."""
    if len(requests) == 1:
        return [_model(requests[0], context, splits)]
    arch = requests[0].key.arch_key
    scope = json.dumps([arch, context.archs[arch], context.model, context.dataset], sort_keys=True, default=str)
    if _INITIAL.scope != scope:
        _INITIAL.scope, _INITIAL.models = scope, {}
    models = []
    for request in requests:
        key = json.dumps([request.key.seed, request.init, request.model], sort_keys=True)
        if key not in _INITIAL.models:
            _INITIAL.models[key] = _model(request, context, splits)
        models.append(_INITIAL.models[key])
    return models


@dataclass
class _InitialModels:
    """The initial models this worker built for its latest pack's architecture (`scope`), by seed,
    init and build options. Packs never train them (`pack_models` copies), so the next pack of that
    architecture reuses them."""

    scope: str = ""
    models: dict[str, nn.Module] = field(default_factory=dict)


_INITIAL = _InitialModels()


@dataclass
class _LastPack:
    """The worker's latest packed model, the initial models it packs (in member order) and its
    initial state: the next pack of the same models reloads that state instead of packing again."""

    members: tuple[nn.Module, ...] = ()
    model: PackedModel | None = None
    initial: dict[str, Tensor] = field(default_factory=dict)


_LAST_PACK = _LastPack()


def _packed(models: list[nn.Module]) -> PackedModel:
    """`pack_models(models)`: the worker's latest packed model reset to its initial state when it packed
    the same models (the probe's and the base-LR grid's packs repeat their seeds' models) and still
    holds all of them (no member left it), else a new one. The state is the same either way."""
    from archscale.nn import pack_models

    last = _LAST_PACK
    same = len(last.members) == len(models) and all(a is b for a, b in zip(last.members, models, strict=True))
    if same and last.model is not None and last.model.members == len(models):
        last.model.load_state_dict(last.initial)
        for parameter in last.model.parameters():
            parameter.grad = None
        return last.model
    model = pack_models(models)
    last.members, last.model = tuple(models), model
    last.initial = {name: t.clone() for name, t in model.state_dict().items()}
    return model


def _model(request: TrialRequest, context: TrialContext, splits: Splits) -> nn.Module:
    """The member's model, built and initialised from its own seed."""
    import torch

    from archscale.graph import parse_architecture
    from archscale.nn import build_model, init_model

    notation, family, kernel, width = context.archs[request.key.arch_key]
    arch = parse_architecture(notation, family, kernel or 3)
    if request.key.arch_key in context.origins:
        arch = replace(arch, origin=context.origins[request.key.arch_key])
    torch.manual_seed(request.key.seed)
    options = {**context.model, "width": width or context.model["width"], **request.model}
    model = build_model(arch, classes=splits.num_classes, input_shape=splits.input_shape, **options)
    init = dict(request.init)
    init_model(model, init.pop("init"), **init)
    return model


_LOADED: dict[str, Splits] = {}


def _splits(context: TrialContext) -> Splits:
    """The dataset, loaded once per worker process (trials share it; Tune reuses the actors)."""
    from archscale.data import load_dataset

    key = repr(sorted(context.dataset.items()))
    if key not in _LOADED:
        _LOADED[key] = load_dataset(**context.dataset)
    return _LOADED[key]
