"""Plans of trials: the search phase (base-LR search, per-architecture tuning, LR probes) and the
final phase (every strategy's chosen LR, every seed, the full budget).

A `Unit` is one trial with its LR fixed; a `Search` is an Optuna study whose trials get their LR from
the sampler. Both carry the natural key of their database rows, so a resumed study re-plans only what
is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from archscale.graph import Architecture, Family, parse_architecture
from archscale.principles import Convention, Scale, default_base, lr_scale
from archscale.store.enums import Phase, Strategy
from archscale.strategies.choose import ChosenLrs
from archscale.study.spec import EarlyStopping, SearchSpec, StudySpec

Key = tuple[str, str, str, int, int]
"""(architecture digest, strategy, phase, seed, trial number): a trial's natural key."""


@dataclass(frozen=True)
class ArchInfo:
    """An architecture of the study with its principled scale (under the principled convention).

    `listed`: the user asked for it (final runs and tuning); `is_base`: it is the base network that
    the base LR is searched (and probed) on.
    """

    key: str
    arch: Architecture
    scale: Scale
    listed: bool = True
    is_base: bool = False


@dataclass(frozen=True)
class Unit:
    """One trial whose LR is known before it starts."""

    arch_key: str
    strategy: Strategy
    phase: Phase
    seed: int
    trial_number: int
    lr: float
    init: dict[str, str]

    @property
    def key(self) -> Key:
        return (self.arch_key, self.strategy.value, self.phase.value, self.seed, self.trial_number)


@dataclass(frozen=True)
class Search:
    """An Optuna search of the LR of one architecture; its trials use `seed` and the study recipe."""

    name: str
    arch_key: str
    strategy: Strategy
    phase: Phase
    spec: SearchSpec
    seed: int
    init: dict[str, str]
    early_stopping: EarlyStopping | None = None


@dataclass
class PhasePlan:
    phase_name: str
    units: list[Unit] = field(default_factory=list)
    searches: list[Search] = field(default_factory=list)


@dataclass(frozen=True)
class StudyContext:
    """The study's validated spec and its architectures, the base network included when needed."""

    name: str
    spec: StudySpec
    archs: dict[str, ArchInfo]
    base_key: str | None

    @classmethod
    def build(cls, name: str, spec: StudySpec, archs: list[Architecture]) -> StudyContext:
        convention = principled_convention(spec)
        base = base_architecture(spec)
        infos = {a.digest(): ArchInfo(a.digest(), a, lr_scale(a, convention, base)) for a in archs}
        if not (base_search_spec(spec) or spec.strategies.probe):
            return cls(name, spec, infos, None)
        key = base.digest()
        listed = key in infos
        infos[key] = ArchInfo(key, base, lr_scale(base, convention, base), listed=listed, is_base=True)
        return cls(name, spec, infos, key)

    def study_archs(self) -> list[ArchInfo]:
        """The architectures the user listed, in their order."""
        return [info for info in self.archs.values() if info.listed]


def principled_convention(spec: StudySpec) -> Convention:
    principled, probe = spec.strategies.principled, spec.strategies.probe
    if principled is not None:
        return Convention(principled.convention)
    return Convention(probe.convention) if probe is not None else Convention.OFFICIAL


def base_architecture(spec: StudySpec) -> Architecture:
    """`principled.base`, else the family's shallowest network (kernel 3 for CNNs, as in the paper)."""
    family = Family(spec.model.family)
    principled = spec.strategies.principled
    if principled is not None and principled.base is not None:
        return parse_architecture(principled.base, family, spec.model.kernel_size)
    return default_base(principled_convention(spec), family)


def base_search_spec(spec: StudySpec) -> tuple[Strategy, SearchSpec] | None:
    """Who owns the base-LR search and how it runs, or None when no strategy needs one."""
    principled, fixed = spec.strategies.principled, spec.strategies.fixed
    if principled is not None and not isinstance(principled.base_lr, float | int):
        return Strategy.PRINCIPLED, principled.base_lr.search
    if fixed is not None and fixed.lr == "base":
        return Strategy.FIXED, SearchSpec()
    return None


def init_settings(spec: StudySpec, strategy: Strategy) -> dict[str, str]:
    s = spec.strategies
    if strategy is Strategy.PRINCIPLED and s.principled is not None:
        return {"init": s.principled.init, "degree_rule": s.principled.degree_rule, "readout": s.principled.readout}
    chosen = {Strategy.FIXED: s.fixed, Strategy.TUNED: s.tuned, Strategy.PROBE: s.probe}.get(strategy)
    return {"init": chosen.init if chosen is not None else "kaiming"}


def search_plan(ctx: StudyContext) -> PhasePlan:
    """The base-LR search, the per-architecture searches of `tuned`, and the probe grid."""
    spec, plan = ctx.spec, PhasePlan("search")
    search_seed = spec.seeds[0]
    owner = base_search_spec(spec)
    if owner is not None and ctx.base_key is not None:
        strategy, search = owner
        init = init_settings(spec, Strategy.PRINCIPLED if spec.strategies.principled else strategy)
        plan.searches.append(
            Search(f"{ctx.name}/base-search", ctx.base_key, strategy, Phase.BASE_SEARCH, search, search_seed, init)
        )
    tuned = spec.strategies.tuned
    if tuned is not None:
        for info in ctx.study_archs():
            plan.searches.append(
                Search(
                    f"{ctx.name}/tuned/{info.key[:16]}",
                    info.key,
                    Strategy.TUNED,
                    Phase.SEARCH,
                    tuned,
                    search_seed,
                    init_settings(spec, Strategy.TUNED),
                    tuned.early_stopping,
                )
            )
    probe = spec.strategies.probe
    if probe is not None:
        grid = probe_grid(probe.low, probe.high, probe.points)
        init = {"init": probe.init}
        for info in ctx.archs.values():
            plan.units.extend(
                Unit(info.key, Strategy.PROBE, Phase.PROBE, seed, number, lr, init)
                for number, lr in enumerate(grid)
                for seed in spec.seeds
            )
    return plan


def probe_grid(low: float, high: float, points: int) -> list[float]:
    """A geometric grid from `low` to `high` inclusive."""
    ratio = math.log(high / low) / (points - 1)
    return [low * math.exp(ratio * i) for i in range(points)]


def final_plan(ctx: StudyContext, chosen: ChosenLrs) -> PhasePlan:
    """Every strategy's chosen LR for every listed architecture and seed, with the full budget."""
    spec, plan = ctx.spec, PhasePlan("final")
    s = spec.strategies
    for info in ctx.study_archs():
        lrs: list[tuple[Strategy, float | None]] = []
        if s.fixed is not None:
            lrs.append((Strategy.FIXED, chosen.base_lr if s.fixed.lr == "base" else float(s.fixed.lr)))
        if s.principled is not None:
            given = s.principled.base_lr
            base_lr = float(given) if isinstance(given, float | int) else chosen.base_lr
            lrs.append((Strategy.PRINCIPLED, info.scale.lr(base_lr) if base_lr is not None else None))
        if s.tuned is not None:
            lrs.append((Strategy.TUNED, chosen.tuned.get(info.key)))
        for strategy, lr in lrs:
            if lr is None:
                continue
            init = init_settings(spec, strategy)
            plan.units.extend(Unit(info.key, strategy, Phase.FINAL, seed, 0, lr, init) for seed in spec.seeds)
    return plan
