"""What a study will run and cost, before anything runs (`archscale plan`, and the first line of
`archscale run`): no training, no Ray, no database.

Everything is counted from the real plan (`search_plan`, `final_plan`, `make_packs`, the searches'
rounds) exactly as `archscale run` would execute it, with one assumption for the final runs: every
search is taken to find a different LR (`finals.PLACEHOLDER_LR` per search), so identical runs are
merged as the plan merges them.

- **Runs** are trainings; **rows** are trial rows (a run that stands for identical runs of other arms
  writes a row for each); **Ray trials** are packs (one Tune trial each). A shared search is counted
  once, under the arm its rows are filed under (its first); `searches` lists every arm it serves.
- **Epoch rows** are counted at most (no run stopped early) and expected: a search's first round is
  never stopped, and a later trial is taken to pass each ASHA rung with probability 1/reduction_factor
  (what the rule does when the scores of rounds are exchangeable).
- **Device-hours** = FLOPs / throughput + the steps' fixed cost, with per run `3 × F × training samples`
  (forward + backward, the backward counted as twice the forward) `+ F × (validation + test samples) ×
  epochs` (one evaluation per epoch), F the forward FLOPs per sample (`nn.forward_counts`: 2 × MACs of the
  Linear and Conv layers), training samples `min(epochs × train split, max_steps × batch)`, over the
  expected epochs. The **fixed cost** is what small networks spend whatever their FLOPs: per step of a
  pack (shared by its members), `a + b × calls` seconds, `calls` the leaf modules one forward runs, an
  evaluation batch counted as a third of a step; steps per epoch `⌈train split / batch⌉`, evaluation
  batches `⌈split / eval_batch_size⌉`. A search's packs are counted at its trials' mean expected epochs.
  Throughputs and fixed costs are in `DEVICES`: measured ones say where, assumed ones say so; a device
  without a measured fixed cost gives a FLOP floor, and says so.
- **Database size** uses bytes per row measured on PostgreSQL (`DB_BYTES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from archscale.execution.finals import PLACEHOLDER_LR
from archscale.execution.optuna_studies import rounds
from archscale.execution.packs import SIMULATED, even_size, make_packs, pack_limit
from archscale.graph import Family
from archscale.strategies import Found, Search, StudyContext, Unit, final_plan, search_plan
from archscale.strategies.plan import merge_identical
from archscale.study.spec import DatasetSpec
from archscale.train.config import TrainConfig

if TYPE_CHECKING:
    from archscale.nn import ForwardCounts


@dataclass(frozen=True)
class Device:
    """A device's training throughput (`flops_per_second`), its fixed cost per step (`fixed`: per kind of
    network, `dense` or `conv`, seconds `(a, b_weight, b_other)` of a step whose forward calls
    `weight_calls` Linear/Conv layers and `other` leaf modules: a + b_weight × weight_calls + b_other ×
    other; None: not measured, the device-hours are a FLOP floor), and where the figures come from."""

    name: str
    unit: str
    flops_per_second: float
    source: str
    measured: bool
    fixed: dict[str, tuple[float, float, float]] | None = None

    def step_seconds(self, counts: ForwardCounts) -> float:
        """The fixed seconds of one step of a network with forward `counts` (0 when not measured)."""
        if self.fixed is None:
            return 0.0
        a, b_weight, b_other = self.fixed[counts.kind]
        return a + b_weight * counts.weight_calls + b_other * (counts.calls - counts.weight_calls)


FIXED_CPU = {"dense": (313.5e-6, 25.74e-6, 25.74e-6), "conv": (0.0, 337.62e-6, 0.0)}
"""This CPU's fixed cost of a step of archscale's training loop, per kind of network (see `Device.fixed`):
bench/bench_throughput.py, one thread, batch 2, non-negative least squares over 5 DAG-MLPs and 7 DAG-CNN /
NAS-Bench-201 networks (bench/RESULTS.md, 2026-12-07)."""

DEVICES = (
    Device(
        "cpu",
        "CPU core-hours",
        71.1e9,
        "measured: bench/bench_throughput.py, one thread of this 2-core AMD EPYC machine, NB201 C=16 N=5 densest "
        "cell, batch 64, fp32 (bench/RESULTS.md, 2026-12-06); fixed cost per step fitted on tiny DAG-MLPs and "
        "NB201 networks, batch 2 (bench/RESULTS.md, 2026-12-07)",
        True,
        FIXED_CPU,
    ),
    Device(
        "a100",
        "A100-hours",
        0.1 * 312e12,
        "assumed, not measured: 10% of the A100's 312 TFLOP/s bf16 dense peak (NVIDIA A100 datasheet); small "
        "convnets rarely reach more; no fixed cost per step measured: a FLOP floor. Replace with bench/gpu.sh's "
        "figures once it has run",
        False,
    ),
    Device(
        "h100",
        "H100-hours",
        0.1 * 989e12,
        "assumed, not measured: 10% of the H100 SXM's 989 TFLOP/s bf16 dense peak (NVIDIA H100 datasheet); small "
        "convnets rarely reach more; no fixed cost per step measured: a FLOP floor. Replace with bench/gpu.sh's "
        "figures once it has run",
        False,
    ),
)

DB_BYTES = {"trial": 710, "epoch": 145, "optuna_trial": 3800, "architecture": 1200}
"""On-disk bytes per row, indexes included, measured on PostgreSQL 15 by bench/bench_scale.py (the whole
NAS-Bench-201 space, 92,004 trial rows; bench/RESULTS.md): a trial row, an epoch row, an Optuna trial
with its parameter, values and attributes, and an architecture of the study with its plan rows and
choices. An empty PostgreSQL database adds about 7.5 MB."""

PUBLISHED_SIZES: dict[str, tuple[int, int, tuple[int, ...], int]] = {
    "cifar10": (50_000, 10_000, (3, 32, 32), 10),
    "cifar100": (50_000, 10_000, (3, 32, 32), 100),
    "imagenet16-120": (151_700, 6_000, (3, 16, 16), 120),
}
"""(training, test examples, input shape, classes) of the file-based datasets, as published: `plan`
does not read their files."""


@dataclass(frozen=True)
class DatasetFacts:
    """The splits' sizes and the input: what a run's FLOPs depend on."""

    name: str
    train: int
    val: int
    test: int
    input_shape: tuple[int, ...]
    classes: int
    source: str


@dataclass
class Row:
    """One phase of one arm: runs trained, trial rows, Ray trials, epoch rows (at most, expected), FLOPs."""

    phase: str
    arm: str
    runs: int = 0
    rows: int = 0
    ray_trials: float = 0.0
    epoch_rows: int = 0
    epoch_rows_expected: float = 0.0
    flops: float = 0.0
    pack_steps: float = 0.0
    fixed_seconds: dict[str, float] = field(default_factory=dict)

    def device_hours(self) -> dict[str, float]:
        """FLOPs over each device's throughput, plus its steps' fixed seconds."""
        return {d.name: (self.flops / d.flops_per_second + self.fixed_seconds.get(d.name, 0.0)) / 3600 for d in DEVICES}

    def add_steps(self, steps: float, per_step: dict[str, float]) -> None:
        """Count `steps` step-equivalents whose fixed seconds per step on each device are `per_step`."""
        self.pack_steps += steps
        for device, seconds in per_step.items():
            self.fixed_seconds[device] = self.fixed_seconds.get(device, 0.0) + steps * seconds


RowOf = Callable[[str, str], Row]
"""The row of a (phase, arm)."""
FlopsOf = Callable[[str, dict[str, Any], float], float]
"""The FLOPs of a run: (architecture key, recipe, epochs)."""
AddSteps = Callable[["Row", str, float], None]
"""Count in a row step-equivalents of an architecture: (row, architecture key, steps)."""
StepsOf = Callable[[dict[str, Any], float], float]
"""The step-equivalents of one run: (recipe, epochs)."""


@dataclass(frozen=True)
class SearchGroup:
    """Searches of one label and phase: how many (repeats included), their trials and epochs, the arms
    that share them (the first files the rows)."""

    label: str
    phase: str
    arms: tuple[str, ...]
    searches: int
    trials: int
    epochs: int
    early_stopping: bool


@dataclass
class Estimate:
    """A study's plan in numbers (the module's docstring defines each)."""

    study: str
    architectures: int
    seeds: int
    search_repeats: int
    dataset: DatasetFacts
    flops_per_sample: tuple[int, int]
    rows: list[Row] = field(default_factory=list)
    searches: list[SearchGroup] = field(default_factory=list)
    device: str = "cpu"
    simulated: bool = False

    def total(self) -> Row:
        total = Row("all", "all")
        for row in self.rows:
            for counted in fields(Row)[2:-1]:  # every count but phase, arm and the fixed seconds
                setattr(total, counted.name, getattr(total, counted.name) + getattr(row, counted.name))
            for device, seconds in row.fixed_seconds.items():
                total.fixed_seconds[device] = total.fixed_seconds.get(device, 0.0) + seconds
        return total

    def database_bytes(self) -> int:
        total = self.total()
        search_rows = sum(r.rows for r in self.rows if r.phase != "final")
        return int(
            total.rows * DB_BYTES["trial"]
            + total.epoch_rows_expected * DB_BYTES["epoch"]
            + search_rows * DB_BYTES["optuna_trial"]
            + self.architectures * DB_BYTES["architecture"]
        )

    def line(self) -> str:
        """The one-line summary `archscale run` prints at its start."""
        total, device = self.total(), next(d for d in DEVICES if d.name == self.device)
        hours = total.device_hours()[device.name]
        assumed = "" if device.measured else ", assumed throughput"
        if device.fixed is None:
            assumed += ", FLOPs only: a floor"
        simulated = " (simulated)" if self.simulated else ""
        return (
            f"plan{simulated}: {total.runs:,} runs ({total.rows:,} trial rows) in {total.ray_trials:,.0f} Ray trials, "
            f"≤ {total.epoch_rows:,} epoch rows (≈ {total.epoch_rows_expected:,.0f} with early stopping), "
            f"≈ {hours_text(hours)} {device.unit}{assumed}, database ≈ {_size(self.database_bytes())}"
        )

    def to_json(self) -> dict[str, Any]:
        total = self.total()
        return {
            "study": self.study,
            "architectures": self.architectures,
            "seeds": self.seeds,
            "search_repeats": self.search_repeats,
            "dataset": {**asdict(self.dataset), "input_shape": list(self.dataset.input_shape)},
            "forward_flops_per_sample": {"min": self.flops_per_sample[0], "max": self.flops_per_sample[1]},
            "phases": [_row_json(r) for r in self.rows],
            "searches": [{**asdict(g), "arms": list(g.arms)} for g in self.searches],
            "total": {**_row_json(total), "database_bytes": self.database_bytes()},
            "device": self.device,
            "simulated": self.simulated,
            "devices": [asdict(d) for d in DEVICES],
            "formula": "device-hours = ((3 × F × training samples + F × (validation + test samples) × epochs) "
            "/ throughput + pack steps × (a + b_weight × weight-layer calls + b_other × other leaf-module calls)) "
            "/ 3600, F = forward FLOPs per sample, calls per forward of one sample, (a, b_weight, b_other) the "
            "device's `fixed` cost for the network's kind (dense or conv), over the expected epochs; pack steps = "
            "a pack's SGD steps + a third per evaluation batch, shared by its members; a device without `fixed` "
            "gives a FLOP floor",
        }


def estimate(ctx: StudyContext, *, simulated: bool = False) -> Estimate:
    """The study's plan in numbers (see the module's docstring); `simulated` (`archscale run --simulate`)
    counts the Ray trials as a simulated run packs them: packs of up to `SIMULATED` runs of any
    architectures, and the rounds of the searches, which then advance together, packed together."""
    spec = ctx.spec
    facts = dataset_facts(spec.dataset)
    counts = forward_costs(ctx, facts)
    trained = 1 if spec.model.family == "torch" else pack_limit(spec.resources.pack, spec.resources.gpu_per_trial)
    limit = SIMULATED if simulated else trained  # the Ray trials' packs; `trained`: the packs' fixed costs
    rows: dict[tuple[str, str], Row] = {}

    def row(phase: str, arm: str) -> Row:
        return rows.setdefault((phase, arm), Row(phase, arm))

    def run_flops(arch_key: str, recipe: dict[str, Any], epochs: float) -> float:
        return counts[arch_key].flops * _samples(facts, recipe, epochs)

    per_step: dict[ForwardCounts, dict[str, float]] = {}  # by counts: 28 kinds for the whole NAS-Bench-201 space

    def add_steps(r: Row, arch_key: str, steps: float) -> None:
        found = counts[arch_key]
        if found not in per_step:
            per_step[found] = {device.name: device.step_seconds(found) for device in DEVICES}
        r.add_steps(steps, per_step[found])

    def steps_of(recipe: dict[str, Any], epochs: float) -> float:
        return _steps(facts, recipe, epochs)

    plan = search_plan(ctx)
    _add_units(plan.units, limit, row, run_flops, simulated=simulated)
    _add_fixed_costs(make_packs(plan.units, trained), row, add_steps, steps_of)
    packs_of = _lockstep_packs(plan.searches, limit) if simulated else {}
    for search in plan.searches:
        r = row(search.phase.value, search.arms[0])
        trials, epochs = search.spec.trials, int(search.need.recipe["epochs"])
        expected = _expected_epochs(search, epochs)
        r.runs += trials
        r.rows += trials
        r.ray_trials += packs_of[search.name] if simulated else _search_packs(search, limit)
        r.epoch_rows += trials * epochs
        r.epoch_rows_expected += expected
        r.flops += run_flops(search.arch_key, dict(search.need.recipe), expected)
        packs = _search_packs(search, trained)
        add_steps(r, search.arch_key, packs * _steps(facts, dict(search.need.recipe), expected / trials))
    for group in _final_groups(ctx, plan.searches):
        for unit in group:
            r = row(unit.key.phase.value, unit.key.arm)
            epochs = int(unit.recipe["epochs"])
            r.runs += 1
            r.rows += 1 + len(unit.shared_with)
            r.epoch_rows += epochs * (1 + len(unit.shared_with))
            r.epoch_rows_expected += epochs * (1 + len(unit.shared_with))
            r.flops += run_flops(unit.key.arch_key, dict(unit.recipe), epochs)
        packs = make_packs(group, limit, simulated=simulated)
        _add_packs(packs, row)
        _add_fixed_costs(make_packs(group, trained) if simulated else packs, row, add_steps, steps_of)
    values = [c.flops for c in counts.values()]
    return Estimate(
        ctx.name,
        len(ctx.study_archs()),
        len(spec.seeds),
        spec.search_repeats,
        facts,
        (min(values), max(values)),
        sorted(rows.values(), key=lambda r: (r.phase == "final", r.phase, list(spec.strategies).index(r.arm))),
        _search_groups(plan.searches),
        "h100" if spec.resources.gpu_per_trial > 0 else "cpu",
        simulated,
    )


def dataset_facts(spec: DatasetSpec) -> DatasetFacts:
    """The splits' sizes and input of the study's dataset: from the published sizes for file-based
    datasets (their files are not read), else by loading it."""
    key = spec.name.strip().lower().replace("_", "-")
    if key in PUBLISHED_SIZES:
        train, test, shape, classes = PUBLISHED_SIZES[key]
        pool = min(train, spec.limit or train)
        val = round(pool * spec.val_fraction)
        return DatasetFacts(key, pool - val, val, min(test, spec.test_limit or test), shape, classes, "published sizes")
    from archscale.data import load_dataset

    splits = load_dataset(**spec.load_options())
    return DatasetFacts(
        key,
        len(splits.train),
        len(splits.val),
        len(splits.test),
        tuple(splits.input_shape),
        splits.num_classes,
        "loaded",
    )


def forward_costs(ctx: StudyContext, facts: DatasetFacts) -> dict[str, ForwardCounts]:
    """Forward FLOPs and leaf-module calls per sample of every architecture of the study, by key. Every
    weight layer of a cell or DAG maps width to width at one resolution, and only weight layers are
    counted, so architectures whose built weight layers have the same kinds (and the same family, width
    and kernel) cost the same: one model is built and counted per kind, 28 for the whole NAS-Bench-201
    space (a user's torch module is counted as itself).
    Counted on one thread: for one sample more threads only wait for each other."""
    import torch

    from archscale.nn import build_model, forward_counts

    model, counted, costs = ctx.spec.model, {}, {}
    options = model.build_options()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for key, info in ctx.archs.items():
            arch = info.arch
            built = arch.graph.edges if arch.family is Family.NB201 and not model.prune_dead_edges else None
            edges = built if built is not None else arch.graph.live_edges()
            kind = (
                arch.family,
                arch.width,
                arch.kernel_size,
                tuple(sorted(e.op.name for e in edges if e.op.parameterised)),
                arch.origin,  # a user's module (torch family) is counted as itself
            )
            if kind not in counted:
                width = arch.width or options["width"]
                net = build_model(
                    arch, classes=facts.classes, input_shape=facts.input_shape, **{**options, "width": width}
                )
                counted[kind] = forward_counts(net, facts.input_shape)
            costs[key] = counted[kind]
    finally:
        torch.set_num_threads(threads)
    return costs


def _samples(facts: DatasetFacts, recipe: dict[str, Any], epochs: float) -> float:
    """Forward-equivalent samples of a run of `epochs` epochs: 3 per training sample, 1 per evaluated one."""
    train = epochs * facts.train
    if recipe.get("max_steps") is not None:
        train = min(train, int(recipe["max_steps"]) * int(recipe["batch_size"]))
    return 3 * train + epochs * (facts.val + facts.test)


def _steps(facts: DatasetFacts, recipe: dict[str, Any], epochs: float) -> float:
    """Step-equivalents of a run of `epochs` epochs: its SGD steps (`⌈train split / batch⌉` per epoch, at
    most `max_steps`) and a third of one per evaluation batch (forward only)."""
    train = epochs * math.ceil(facts.train / int(recipe["batch_size"]))
    if recipe.get("max_steps") is not None:
        train = min(train, int(recipe["max_steps"]))
    evaluation = int(recipe.get("eval_batch_size", TrainConfig.eval_batch_size))
    evaluations = sum(math.ceil(split / evaluation) for split in (facts.val, facts.test) if split)
    return train + epochs * evaluations / 3


def _add_fixed_costs(packs: list[list[Unit]], row: RowOf, add_steps: AddSteps, steps_of: StepsOf) -> None:
    """Count each trained pack's steps once (at its longest member's epochs; its members share their
    training settings), shared among its members' rows in proportion."""
    for pack in packs:
        share = steps_of(pack[0].recipe, max(int(unit.recipe["epochs"]) for unit in pack)) / len(pack)
        for unit in pack:
            add_steps(row(unit.key.phase.value, unit.key.arm), unit.key.arch_key, share)


def _add_units(units: list[Unit], limit: int, row: RowOf, run_flops: FlopsOf, *, simulated: bool) -> None:
    """The search phase's runs with a known LR (probe grids), packed as the plan packs them."""
    for unit in units:
        r = row(unit.key.phase.value, unit.key.arm)
        epochs = int(unit.recipe["epochs"])
        r.runs += 1
        r.rows += 1
        r.epoch_rows += epochs
        r.epoch_rows_expected += epochs
        r.flops += run_flops(unit.key.arch_key, dict(unit.recipe), epochs)
    _add_packs(make_packs(units, limit, simulated=simulated), row)


def _lockstep_packs(searches: list[Search], limit: int) -> dict[str, float]:
    """Ray trials per search when the rounds of every search ready pack together (a simulated run):
    the searches advance in lockstep, the k-th rounds of all of them forming packs of at most `limit`,
    each search counted in proportion to its members."""
    sizes = {search.name: round_sizes(search) for search in searches}
    share = dict.fromkeys(sizes, 0.0)
    for k in range(max((len(s) for s in sizes.values()), default=0)):
        members = {name: s[k] for name, s in sizes.items() if k < len(s)}
        total = sum(members.values())
        packs = math.ceil(total / even_size(total, limit))
        for name, count in members.items():
            share[name] += packs * count / total
    return share


def _add_packs(packs: list[list[Unit]], row: RowOf) -> None:
    """Count each pack as one Ray trial, shared among its members' arms in proportion."""
    for pack in packs:
        for unit in pack:
            row(unit.key.phase.value, unit.key.arm).ray_trials += 1 / len(pack)


def round_sizes(search: Search) -> list[int]:
    """The sizes of a search's rounds: its sampler's random start-up, then `batch` trials at a time."""
    first, batch = rounds(search)
    trials = search.spec.trials
    sizes = [min(first, trials)]
    left = trials - sizes[0]
    while left > 0:
        sizes.append(min(batch, left))
        left -= sizes[-1]
    return sizes


def _search_packs(search: Search, limit: int) -> int:
    """Ray trials of a search: each round is split evenly into packs of at most `limit`."""
    return sum(math.ceil(size / even_size(size, limit)) for size in round_sizes(search))


def _expected_epochs(search: Search, epochs: int) -> float:
    """Epochs a search trains in all, expected under its early stopping (see the module's docstring)."""
    stopping = search.spec.early_stopping
    sizes = round_sizes(search)
    if stopping is None:
        return float(search.spec.trials * epochs)
    factor = stopping.reduction_factor
    count = int(math.log(epochs / stopping.grace_epochs) / math.log(factor) + 1)
    milestones = [m for k in range(count) if (m := math.ceil(stopping.grace_epochs * factor**k)) < epochs]
    later, reached, survive = 0.0, 0, 1.0
    for milestone in [*milestones, epochs]:
        later += survive * (milestone - reached)
        reached, survive = milestone, survive / factor
    return sizes[0] * epochs + (search.spec.trials - sizes[0]) * later


def _final_groups(ctx: StudyContext, searches: list[Search]) -> list[list[Unit]]:
    """The final runs, grouped by the search their LR comes from and merged as `FinalRuns` does, with
    every search assumed to find `PLACEHOLDER_LR`."""
    found = [
        Found({s.need.identity: (PLACEHOLDER_LR, s.name) for s in searches if s.repeat == repeat})
        for repeat in range(ctx.spec.search_repeats)
    ]
    plan, choices = final_plan(ctx, found)
    source = {(c.arm, c.arch_key, c.repeat): c.choice.search for c in choices}
    groups: dict[str | None, list[Unit]] = {}
    for unit in plan.units:
        groups.setdefault(source[(unit.key.arm, unit.key.arch_key, unit.key.repeat)], []).append(unit)
    # runs of one arm never coincide (they differ in architecture or seed): only mixed groups merge
    return [merge_identical(g) if len({u.key.arm for u in g}) > 1 else g for g in groups.values()]


def _search_groups(searches: Iterable[Search]) -> list[SearchGroup]:
    groups: dict[tuple[str, str, tuple[str, ...], int, int, bool], int] = {}
    for s in searches:
        key = (
            s.need.label,
            s.phase.value,
            s.arms,
            s.spec.trials,
            int(s.need.recipe["epochs"]),
            bool(s.spec.early_stopping),
        )
        groups[key] = groups.get(key, 0) + 1
    return [SearchGroup(k[0], k[1], k[2], n, k[3], k[4], k[5]) for k, n in groups.items()]


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "phase": row.phase,
        "arm": row.arm,
        "runs": row.runs,
        "rows": row.rows,
        "ray_trials": round(row.ray_trials),
        "epoch_rows": row.epoch_rows,
        "epoch_rows_expected": round(row.epoch_rows_expected),
        "flops": row.flops,
        "pack_steps": row.pack_steps,
        "device_hours": row.device_hours(),
    }


def hours_text(hours: float) -> str:
    """Device-hours with three significant digits (whole hours from 1,000 on)."""
    return f"{hours:,.0f}" if hours >= 1000 else f"{hours:.3g}"


def _size(count: int) -> str:
    """`count` bytes in decimal units."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
