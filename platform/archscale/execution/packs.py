"""Packs: runs with a known LR of one architecture that may train as one packed model.

Runs pack together when they share the architecture, the phase, the build options and every training
setting that `archscale.train.train_pack` needs to be common (all but LR, seed, init and the optimizer
settings it keeps per member). `resources.pack` sets the size: 1 (never pack), K (at most K per
pack), or `auto` (at most 16 runs per pack on CPU-only trials, 64 when trials have a GPU), with the
runs of a group spread evenly over the fewest packs. Runs of a non-standard parametrization (μP, whose
readout and per-group learning rates have no packed form) train alone.
"""

from __future__ import annotations

import json
import math
from typing import Literal

from archscale.strategies import Unit
from archscale.train.packed import PER_MEMBER_FIELDS

AUTO_CPU = 16
AUTO_GPU = 64


def pack_limit(pack: int | Literal["auto"], gpu_per_trial: float) -> int:
    if pack == "auto":
        return AUTO_GPU if gpu_per_trial > 0 else AUTO_CPU
    return int(pack)


def make_packs(units: list[Unit], limit: int) -> list[list[Unit]]:
    """Group `units` into packs of at most `limit` compatible runs, in plan order."""
    groups: dict[str, list[Unit]] = {}
    for unit in units:
        shared = {k: v for k, v in unit.recipe.items() if k not in PER_MEMBER_FIELDS}
        key = json.dumps([unit.arch_key, unit.phase.value, shared, dict(unit.model)], sort_keys=True, default=str)
        groups.setdefault(key, []).append(unit)
    packs: list[list[Unit]] = []
    for group in groups.values():
        if group[0].model.get("parametrization", "standard") != "standard":
            packs.extend([unit] for unit in group)
            continue
        count = math.ceil(len(group) / max(1, limit))
        size = math.ceil(len(group) / count)
        packs.extend(group[i : i + size] for i in range(0, len(group), size))
    return packs
