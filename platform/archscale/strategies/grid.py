"""The max-LR probe's grid and scoring rule (paper-spec §4.5), pure and torch-free: used by the probe
strategy to plan (and extend) its grids, by execution to decide when to extend, and by the report.

A run's score is its criterion at the last epoch (+inf when it diverged or the loss is not finite;
NaN when it recorded no epoch); a grid point's score is the mean over its seeds' scores (+inf when a
seed diverged). The probed maximal LR is the LR of the lowest finite point score, the largest among
equal ones. A grid has positions 0 (`low`) … points−1 (`high`); an extension adds positions beyond
an edge at the same ratio, numbered (as trials) after every point already planned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Edge = Literal["", "low", "high"]

EXTEND_BLOCK = 4
"""Grid points added at a time beyond the edge where a probed LR sits."""


def grid_lr(low: float, high: float, points: int, position: int) -> float:
    """The LR at `position` of the geometric grid from `low` (0) to `high` (points−1); positions
    outside continue the grid at the same ratio."""
    return low * math.exp(math.log(high / low) / (points - 1) * position)


def run_score(diverged: bool, loss: float | None) -> float:
    """A run's score: +inf when it diverged or its loss is not finite (NaN included), NaN when it
    recorded no epoch (`loss` None), else the loss."""
    if diverged:
        return math.inf
    if loss is None:
        return math.nan
    return loss if math.isfinite(loss) else math.inf


def point_score(scores: Sequence[float]) -> float:
    """A grid point's score from its seeds' run scores (NaN ones left out): their mean, +inf when
    one is +inf, NaN when none is left."""
    import numpy as np

    values = np.asarray(scores, dtype=float)
    values = values[~np.isnan(values)]
    if not values.size:
        return math.nan
    return float(values.mean()) if np.isfinite(values).all() else math.inf


@dataclass(frozen=True)
class Argmin:
    """The probed maximal LR of a grid: `lr` (NaN when no point has a finite score), the `index` of its
    point in the points given (None with no finite score), and the `edge` it sits at ("" inside)."""

    lr: float
    index: int | None
    edge: Edge


def probed_max_lr(points: Sequence[tuple[float, Sequence[float]]]) -> Argmin:
    """The probed maximal LR of grid `points` given as (LR, its seeds' run scores), in any order: the
    LR of the lowest finite point score, the largest among equal ones; its edge is "low"/"high" when
    it is the lowest/highest LR of `points`."""
    scored = [(lr, point_score(scores)) for lr, scores in points]
    finite = [(lr, score) for lr, score in scored if math.isfinite(score)]
    if not finite:
        return Argmin(math.nan, None, "")
    best = min(score for _, score in finite)
    lr = max(lr for lr, score in finite if score == best)
    lrs = [p for p, _ in points]
    edge: Edge = "low" if lr == min(lrs) else "high" if lr == max(lrs) else ""
    return Argmin(lr, lrs.index(lr), edge)


@dataclass(frozen=True)
class GridPoint:
    """A point of a probe grid: its trial `number` and `position` (0 = low, points−1 = high)."""

    number: int
    position: int


@dataclass(frozen=True)
class Probed:
    """An architecture's settled probe result: the probed maximal `lr` (NaN when no point scored), the
    number of grid `points` it is the argmin of, and the `edge` it still sits at ("" inside; "low" or
    "high": censored, the grid may not be extended further on that side)."""

    lr: float
    points: int
    edge: Edge = ""

    @property
    def censored(self) -> bool:
        return bool(self.edge)


def extended_grid(
    low: float,
    high: float,
    points: int,
    extend: int,
    scores: Callable[[GridPoint], Sequence[float] | None],
) -> tuple[list[GridPoint], Probed | None]:
    """An architecture's grid of `points` from `low` to `high`, with every block of extension its results
    call for, and its probed LR once settled. `scores(point)` gives the seeds' run scores of a grid point
    once all its seeds finished, else None. While the probed LR sits at an edge and fewer than `extend`
    points were added beyond it, the next `EXTEND_BLOCK` points (at most `extend` on that side) are added
    beyond it once every point planned so far has finished. The result is None while a point has not
    finished, so that the grid depends only on finished results, never on timing."""
    grid = [GridPoint(n, n) for n in range(points)]
    added: dict[Edge, int] = {"low": 0, "high": 0}
    while True:
        results = [r for p in grid if (r := scores(p)) is not None]
        if len(results) < len(grid):
            return grid, None
        argmin = probed_max_lr(
            [(grid_lr(low, high, points, p.position), r) for p, r in zip(grid, results, strict=True)]
        )
        side = argmin.edge
        if not side or added[side] >= extend:
            return grid, Probed(argmin.lr, len(grid), side)
        block = min(EXTEND_BLOCK, extend - added[side])
        step = 1 if side == "high" else -1
        outer = max(p.position for p in grid) if side == "high" else min(p.position for p in grid)
        first = len(grid)
        grid += [GridPoint(first + i, outer + step * (i + 1)) for i in range(block)]
        added[side] += block
