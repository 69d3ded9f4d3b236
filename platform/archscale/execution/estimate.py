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
- **Device-hours** = FLOPs / throughput, with per run `3 × F × training samples` (forward + backward,
  the backward counted as twice the forward) `+ F × (validation + test samples) × epochs` (one
  evaluation per epoch), F the forward FLOPs per sample (`nn.flops.count_flops`: 2 × MACs of the Linear
  and Conv layers), training samples `min(epochs × train split, max_steps × batch)`, over the expected
  epochs. Throughputs are in `DEVICES`: measured ones say where, assumed ones say so.
- **Database size** uses bytes per row measured on PostgreSQL (`DB_BYTES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from archscale.execution.finals import PLACEHOLDER_LR
from archscale.execution.optuna_studies import rounds
from archscale.execution.packs import SIMULATED, even_size, make_packs, pack_limit
from archscale.graph import Family
from archscale.strategies import Found, Search, StudyContext, Unit, final_plan, search_plan
from archscale.strategies.plan import merge_identical
from archscale.study.spec import DatasetSpec


@dataclass(frozen=True)
class Device:
    """A device's training throughput: `flops_per_second`, and where the figure comes from."""

    name: str
    unit: str
    flops_per_second: float
    source: str
    measured: bool


DEVICES = (
    Device(
        "cpu",
        "CPU core-hours",
        71.1e9,
        "measured: bench/bench_throughput.py, one thread of this 2-core AMD EPYC machine, NB201 C=16 N=5 densest "
        "cell, batch 64, fp32 (bench/RESULTS.md, 2026-12-06)",
        True,
    ),
    Device(
        "a100",
        "A100-hours",
        0.1 * 312e12,
        "assumed, not measured: 10% of the A100's 312 TFLOP/s bf16 dense peak (NVIDIA A100 datasheet); small "
        "convnets rarely reach more. Replace with bench/gpu.sh's throughput once it has run",
        False,
    ),
    Device(
        "h100",
        "H100-hours",
        0.1 * 989e12,
        "assumed, not measured: 10% of the H100 SXM's 989 TFLOP/s bf16 dense peak (NVIDIA H100 datasheet); small "
        "convnets rarely reach more. Replace with bench/gpu.sh's throughput once it has run",
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

    def device_hours(self) -> dict[str, float]:
        return {d.name: self.flops / d.flops_per_second / 3600 for d in DEVICES}


RowOf = Callable[[str, str], Row]
"""The row of a (phase, arm)."""
FlopsOf = Callable[[str, dict[str, Any], float], float]
"""The FLOPs of a run: (architecture key, recipe, epochs)."""


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
            for name in ("runs", "rows", "ray_trials", "epoch_rows", "epoch_rows_expected", "flops"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
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
            "formula": "device-hours = (3 × F × training samples + F × (validation + test samples) × epochs) "
            "/ throughput / 3600 per run, F = forward FLOPs per sample, over the expected epochs",
        }


def estimate(ctx: StudyContext, *, simulated: bool = False) -> Estimate:
    """The study's plan in numbers (see the module's docstring); `simulated` (`archscale run --simulate`)
    counts the Ray trials as a simulated run packs them: packs of up to `SIMULATED` runs of any
    architectures, and the rounds of the searches, which then advance together, packed together."""
    spec = ctx.spec
    facts = dataset_facts(spec.dataset)
    flops = forward_flops(ctx, facts)
    if simulated:
        limit = SIMULATED
    elif spec.model.family == "torch":
        limit = 1
    else:
        limit = pack_limit(spec.resources.pack, spec.resources.gpu_per_trial)
    rows: dict[tuple[str, str], Row] = {}

    def row(phase: str, arm: str) -> Row:
        return rows.setdefault((phase, arm), Row(phase, arm))

    def run_flops(arch_key: str, recipe: dict[str, Any], epochs: float) -> float:
        return flops[arch_key] * _samples(facts, recipe, epochs)

    plan = search_plan(ctx)
    _add_units(plan.units, limit, row, run_flops, simulated=simulated)
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
    for group in _final_groups(ctx, plan.searches):
        for unit in group:
            r = row(unit.key.phase.value, unit.key.arm)
            epochs = int(unit.recipe["epochs"])
            r.runs += 1
            r.rows += 1 + len(unit.shared_with)
            r.epoch_rows += epochs * (1 + len(unit.shared_with))
            r.epoch_rows_expected += epochs * (1 + len(unit.shared_with))
            r.flops += run_flops(unit.key.arch_key, dict(unit.recipe), epochs)
        _add_packs(make_packs(group, limit, simulated=simulated), row)
    values = list(flops.values())
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


def forward_flops(ctx: StudyContext, facts: DatasetFacts) -> dict[str, int]:
    """Forward FLOPs per sample of every architecture of the study, by key. Every weight layer of a
    cell or DAG maps width to width at one resolution, and only weight layers are counted, so
    architectures whose built weight layers have the same kinds (and the same family, width and kernel)
    cost the same: one model is built and counted per kind, 28 for the whole NAS-Bench-201 space (a
    user's torch module is counted as itself).
    Counted on one thread: for one sample more threads only wait for each other."""
    import torch

    from archscale.nn import build_model, count_flops

    model, counted, flops = ctx.spec.model, {}, {}
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
                counted[kind] = count_flops(net, facts.input_shape)
            flops[key] = counted[kind]
    finally:
        torch.set_num_threads(threads)
    return flops


def _samples(facts: DatasetFacts, recipe: dict[str, Any], epochs: float) -> float:
    """Forward-equivalent samples of a run of `epochs` epochs: 3 per training sample, 1 per evaluated one."""
    train = epochs * facts.train
    if recipe.get("max_steps") is not None:
        train = min(train, int(recipe["max_steps"]) * int(recipe["batch_size"]))
    return 3 * train + epochs * (facts.val + facts.test)


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
