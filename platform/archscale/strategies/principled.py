"""`principled`: the paper's rule. The base network's LR (given, found by the study's base-LR search
under this arm's init, or probed by a probe arm of the study: its maximal LR of the same base network,
paper-spec §4.5) times the architecture's scale (S_base / S)^(1/2) (× 3/k for CNN kernels) under
the arm's convention (`official`: the authors' code; `paper`: the equations)."""

from __future__ import annotations

import math

from archscale.graph import Architecture
from archscale.principles import Convention, lr_scale
from archscale.settings import ArmError, BaseLrProbe, BaseLrSearch, PrincipledSettings, ProbeSettings
from archscale.strategies.base_lr import base_search_need
from archscale.strategies.context import ArchInfo, StudyContext, base_of
from archscale.strategies.needs import Choice, Found, SearchNeed
from archscale.strategies.registry import Strategy, get_strategy, register_strategy
from archscale.study.spec import StudySpec


@register_strategy("principled")
class Principled(Strategy):
    settings = PrincipledSettings

    def base_network(self, arm: PrincipledSettings, spec: StudySpec) -> Architecture | None:
        return base_of(spec, arm.base, Convention(arm.convention))

    def check_arms(self, name: str, arm: PrincipledSettings, spec: StudySpec) -> None:
        """A base LR from a probe needs a probe arm of the study that probes this arm's base network."""
        if not isinstance(arm.base_lr, BaseLrProbe):
            return
        loc, probe = ("base_lr", "probe"), arm.base_lr.probe
        other = spec.strategies.get(probe)
        if not isinstance(other, ProbeSettings):
            probes = [n for n, a in spec.strategies.items() if isinstance(a, ProbeSettings)]
            raise ArmError(
                name, loc, f"'{probe}' is not a probe arm of this study (probe arms: {', '.join(probes) or 'none'})"
            )
        probed, mine = get_strategy(other.kind).base_network(other, spec), self.base_network(arm, spec)
        if probed is None or mine is None or probed.digest() != mine.digest():
            raise ArmError(
                name,
                loc,
                f"arm {probe} probes the base network {probed.label if probed else 'none'}, not this arm's base "
                f"{mine.label if mine else 'none'} (give both the same convention, and this arm no other base)",
            )
        reused = sorted(set(other.probe_seeds(spec.seeds)) & set(spec.seeds))
        if reused:
            raise ArmError(
                name,
                loc,
                f"arm {probe} trains with final-run seeds {reused}: a final run never reuses the seed of the search "
                f"its LR came from (give {probe} its own `seeds:`)",
            )

    def searches(self, name: str, arm: PrincipledSettings, ctx: StudyContext) -> list[SearchNeed]:
        if not isinstance(arm.base_lr, BaseLrSearch):
            return []
        return [base_search_need(ctx, arm, arm.base_lr.search, arm.base)]

    def final_lr(
        self, name: str, arm: PrincipledSettings, ctx: StudyContext, info: ArchInfo, found: Found
    ) -> Choice | None:
        convention = Convention(arm.convention)
        scale = lr_scale(info.arch, convention, base_of(ctx.spec, arm.base, convention))
        if scale.lr_factor is None:
            return None
        origin = ""
        if isinstance(arm.base_lr, BaseLrSearch):
            best = found.get(base_search_need(ctx, arm, arm.base_lr.search, arm.base))
            if best is None:
                return None
            base_lr, search = best
        elif isinstance(arm.base_lr, BaseLrProbe):
            probed = found.probed.get((arm.base_lr.probe, base_of(ctx.spec, arm.base, convention).digest()))
            if probed is None or not math.isfinite(probed.lr):
                return None
            base_lr, search = probed.lr, None
            censored = f", censored at the grid's {probed.edge} edge" if probed.censored else ""
            origin = f" probed by arm {arm.base_lr.probe} (argmin of {probed.points} points{censored})"
        else:
            base_lr, search = float(arm.base_lr), None
        return Choice(
            scale.lr(base_lr),
            search,
            f"base LR {base_lr:.4g}{origin} × scale {scale.lr_factor:.4g} ({convention.value})",
        )
