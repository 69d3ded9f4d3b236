"""`probe`: the paper's maximal-LR protocol (paper-spec §4.5): a geometric LR grid with a short budget
and its own optimizer and schedule on every architecture (base network included; `networks: base`:
the base network alone); an architecture's maximal LR is the largest reaching the lowest training
loss (`train_loss`, or the mean over the epoch's last steps, `train_loss_tail`; `grid.probed_max_lr`).
When it sits at a grid edge once the grid has finished, the grid is extended beyond that edge at the
same ratio, `grid.EXTEND_BLOCK` points at a time, until it is inside or `extend` points were added on
that side (then it is censored). It has no final runs; a `principled` arm may take its base LR from it."""

from __future__ import annotations

from typing import Any

from archscale.graph import Architecture
from archscale.principles import Convention
from archscale.settings import ProbeSettings
from archscale.strategies.context import ArchInfo, StudyContext, base_of
from archscale.strategies.grid import GridPoint, Probed, extended_grid, grid_lr, run_score
from archscale.strategies.needs import RunResults, Unit
from archscale.strategies.registry import Strategy, register_strategy
from archscale.study.spec import StudySpec
from archscale.vocabulary import Phase, RunKey


def probe_grid(low: float, high: float, points: int) -> list[float]:
    """A geometric grid from `low` to `high` inclusive."""
    return [grid_lr(low, high, points, i) for i in range(points)]


@register_strategy("probe")
class Probe(Strategy):
    settings = ProbeSettings
    has_finals = False

    def base_network(self, arm: ProbeSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, None, Convention(arm.convention))

    def recipe(self, name: str, arm: ProbeSettings, ctx: StudyContext) -> dict[str, Any]:
        o = arm.optimizer
        return ctx.recipe(
            epochs=arm.epochs,
            momentum=o.momentum,
            nesterov=o.nesterov,
            weight_decay=o.weight_decay,
            schedule=arm.schedule,
        )

    def units(self, name: str, arm: ProbeSettings, ctx: StudyContext, runs: RunResults) -> list[Unit]:
        init, recipe = ctx.arm_init(arm), self.recipe(name, arm, ctx)
        return [
            Unit(
                RunKey(info.key, name, Phase.PROBE, seed, p.number),
                self.kind,
                grid_lr(arm.low, arm.high, arm.points, p.position),
                init,
                recipe,
            )
            for info, (grid, _) in self._grids(name, arm, ctx, runs)
            for p in grid
            for seed in arm.probe_seeds(ctx.spec.seeds)
        ]

    def probed(self, name: str, arm: ProbeSettings, ctx: StudyContext, runs: RunResults) -> dict[str, Probed]:
        return {info.key: probed for info, (_, probed) in self._grids(name, arm, ctx, runs) if probed is not None}

    def _grids(
        self, name: str, arm: ProbeSettings, ctx: StudyContext, runs: RunResults
    ) -> list[tuple[ArchInfo, tuple[list[GridPoint], Probed | None]]]:
        """Each probed architecture's grid, extended as its finished runs call for, and its settled result."""
        if arm.networks == "base":
            base = self.base_network(arm, ctx.spec)
            infos = [ctx.archs[base.digest()]] if base is not None else []
        else:
            infos = list(ctx.archs.values())

        def grid(info: ArchInfo) -> tuple[list[GridPoint], Probed | None]:
            def scores(point: GridPoint) -> list[float] | None:
                seeds = arm.probe_seeds(ctx.spec.seeds)
                finished = [runs.get(RunKey(info.key, name, Phase.PROBE, seed, point.number)) for seed in seeds]
                ready = [r for r in finished if r is not None]
                if len(ready) < len(finished):
                    return None
                return [run_score(r.diverged, r.last.get(arm.criterion)) for r in ready]

            return extended_grid(arm.low, arm.high, arm.points, arm.extend, scores)

        return [(info, grid(info)) for info in infos]
