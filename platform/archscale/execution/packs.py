"""Packs: runs with a known LR of one architecture that may train as one packed model.

Runs pack together when they share the architecture, the phase, the build options and every training
setting that `archscale.train.train_pack` needs to be common (all but LR, seed, init and the optimizer
settings it keeps per member). `resources.pack` sets the size: 1 (never pack), K (at most K per
pack), or `auto` (at most 16 runs per pack on CPU-only trials, 64 when trials have a GPU, and a worker
trains a pack that its device's memory cannot hold in parts, one after the other), with the runs of
a group spread evenly over the fewest packs. Runs that `archscale.train.parametrization.packable` rules
out (μP, whose readout and per-group learning rates have no packed form) train alone. Which runs share a pack follows
from the plan alone (the runs and `resources.pack`), never from how many workers there are or which is
idle: packed members round differently with other companions, and a study's rows must not depend on
its layout.

Packs start most expensive first (`largest_first`): on a few workers, the packs left for the end are
then the short ones, so the workers finish together instead of one idling while another trains the
largest network last.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from archscale.graph import parse_architecture
from archscale.strategies import Unit
from archscale.train.config import PER_MEMBER_FIELDS
from archscale.train.parametrization import packable

AUTO_CPU = 16
AUTO_GPU = 64
SIMULATED = 1024
"""The runs per pack of a simulated study: its trials build no model, so only Tune's per-trial cost counts."""


def pack_limit(pack: int | Literal["auto"], gpu_per_trial: float) -> int:
    if pack == "auto":
        return AUTO_GPU if gpu_per_trial > 0 else AUTO_CPU
    return int(pack)


def make_packs(units: list[Unit], limit: int, *, simulated: bool = False) -> list[list[Unit]]:
    """Group `units` into packs of at most `limit` compatible runs, in plan order, each group spread
    evenly over the fewest packs. The packs are a function of the runs and the limit alone, never of
    the workers: a member's rounding depends on its companions, so the same study packs the same way
    on any layout. `simulated` packs (`archscale run --simulate`: no model is built) may hold runs of
    several architectures."""
    groups: dict[tuple[str | None, str, str], list[Unit]] = {}
    texts: dict[tuple[int, int], str] = {}  # the units of an arm share their recipe and model objects
    for unit in units:
        objects = (id(unit.recipe), id(unit.model))
        if objects not in texts:
            shared = {k: v for k, v in unit.recipe.items() if k not in PER_MEMBER_FIELDS}
            texts[objects] = json.dumps([shared, dict(unit.model)], sort_keys=True, default=str)
        arch = None if simulated else unit.key.arch_key
        groups.setdefault((arch, unit.key.phase.value, texts[objects]), []).append(unit)
    packs: list[list[Unit]] = []
    for group in groups.values():
        if not packable(group[0].model):
            packs.extend([unit] for unit in group)
            continue
        size = even_size(len(group), limit)
        packs.extend(group[i : i + size] for i in range(0, len(group), size))
    return packs


def even_size(runs: int, limit: int) -> int:
    """The size of each of the fewest packs of at most `limit` that hold `runs` runs evenly (20 runs
    under a limit of 16: packs of 10)."""
    limit = max(1, limit)
    return math.ceil(runs / math.ceil(runs / limit)) if runs else 1


def arch_cost(notation: Any, family: str, kernel_size: int | None, width: int | None) -> float:
    """A relative estimate of one run's epoch on an architecture: width² times the weight layers'
    kernel areas (1 for a Linear), with the stem and the readout as one more layer (a user's module,
    which has no study width: the areas alone). Only its order across the architectures of one study
    matters."""
    graph = parse_architecture(notation, family, kernel_size or 3).graph
    area = sum((e.op.kernel or 1) ** 2 for e in graph.live_edges() if e.op.parameterised)
    return float((width or 1) ** 2 * (1 + area))


def largest_first(packs: list[list[Unit]], cost: Mapping[str, float]) -> list[list[Unit]]:
    """`packs` ordered by their estimated cost (`cost` per epoch of one run, by architecture key, 0 where
    it has none, times the members' epochs), largest first; equal costs keep their order."""
    return sorted(packs, key=lambda pack: -sum(run_cost(u, cost) for u in pack))


def run_cost(unit: Unit, cost: Mapping[str, float]) -> float:
    """One run's estimated cost: its architecture's `cost` per epoch (0 where it has none) × its epochs."""
    return cost.get(unit.key.arch_key, 0.0) * int(unit.recipe.get("epochs", 1))


def pack_runs(units: list[Unit], limit: int, cost: Mapping[str, float], *, simulated: bool = False) -> list[list[Unit]]:
    """`make_packs`, largest first: the packs a Tune run serves."""
    return largest_first(make_packs(units, limit, simulated=simulated), cost)
