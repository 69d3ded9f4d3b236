"""The study's plan, pure and serialisable: the search phase (every arm's searches, deduplicated, per
search repeat; trials with a known LR such as probe grids) and the final phase (every arm's chosen LR,
per listed architecture, search repeat and final seed, with the full budget).

A `Unit` is one trial with its LR fixed, named by its run's key (`RunKey`, the key of its database
row, so a resumed study re-plans only what is missing); a `Search` is an Optuna study whose trials get
their LR from the sampler. Seeds: search trials of repeat r train with `spec.repeat_seeds()[r]`, never a final seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from archscale.graph import Architecture
from archscale.principles import lr_scale
from archscale.settings import SearchSpec
from archscale.strategies.context import ArchInfo, StudyContext, base_of, remember_traced, study_convention
from archscale.strategies.grid import Probed
from archscale.strategies.needs import Choice, Found, RunResults, Scope, SearchNeed, Unit
from archscale.strategies.registry import get_strategy
from archscale.study.spec import StudySpec
from archscale.vocabulary import Phase, RunKey


def merge_identical(units: list[Unit]) -> list[Unit]:
    """`units` with identical runs merged: the first of each content stands for the others
    (`shared_with`), in plan order."""
    firsts: dict[str, Unit] = {}
    for unit in units:
        first = firsts.get(unit.content)
        if first is None:
            firsts[unit.content] = unit
        else:
            sharer = (unit.key.arm, unit.kind, unit.key.repeat)
            firsts[unit.content] = replace(first, shared_with=(*first.shared_with, sharer))
    return list(firsts.values())


@dataclass(frozen=True)
class Search:
    """One Optuna search (one repeat of a `SearchNeed`): its trials train with `seed`; its trial rows
    are filed under `arms[0]`, and its cost is charged to every arm of `arms` (by `scope`)."""

    name: str
    need: SearchNeed
    arms: tuple[str, ...]
    kind: str
    repeat: int
    seed: int
    notation: str

    @property
    def spec(self) -> SearchSpec:
        return self.need.search

    @property
    def arch_key(self) -> str:
        return self.need.arch_key

    @property
    def phase(self) -> Phase:
        return self.need.phase

    @property
    def scope(self) -> Scope:
        return self.need.scope


@dataclass
class PhasePlan:
    phase_name: str
    units: list[Unit] = field(default_factory=list)
    searches: list[Search] = field(default_factory=list)


@dataclass(frozen=True)
class ArmChoice:
    """The LR an arm's final runs use on one architecture in one search repeat."""

    arm: str
    arch_key: str
    repeat: int
    choice: Choice


def study_context(name: str, spec: StudySpec, archs: list[Architecture]) -> StudyContext:
    """The study's context: its listed architectures in order, then the base network each arm's kind
    searches or probes on, under the study's convention."""
    convention = study_convention(spec)
    remember_traced(archs)
    base = base_of(spec, None, convention)
    infos: dict[str, ArchInfo] = {}
    for position, arch in enumerate(archs):
        infos.setdefault(
            arch.digest(), ArchInfo(arch.digest(), arch, lr_scale(arch, convention, base), position=position)
        )
    for arm in spec.strategies.values():
        wanted = get_strategy(arm.kind).base_network(arm, spec)
        if wanted is None:
            continue
        key = wanted.digest()
        known = infos.get(key)
        infos[key] = ArchInfo(
            key,
            wanted,
            lr_scale(wanted, convention, base),
            listed=known is not None and known.listed,
            is_base=True,
            position=known.position if known is not None else -1,
        )
    for arm_name, arm in spec.strategies.items():
        get_strategy(arm.kind).check_arms(arm_name, arm, spec)
    return StudyContext(name, spec, infos, convention)


def search_plan(ctx: StudyContext) -> PhasePlan:
    """Every arm's searches (identical needs merged, one per search repeat) and its known-LR trials as
    planned before any has run (`known_units`: later passes add what their results call for)."""
    spec, plan = ctx.spec, PhasePlan("search", known_units(ctx, {}))
    merged: dict[str, tuple[SearchNeed, list[str], str]] = {}
    for name, arm in spec.strategies.items():
        for need in get_strategy(arm.kind).searches(name, arm, ctx):
            entry = merged.setdefault(need.identity, (need, [], arm.kind))
            if name not in entry[1]:
                entry[1].append(name)
    names = search_names(ctx, [need for need, _, _ in merged.values()])
    for repeat, seed in enumerate(spec.repeat_seeds()):
        for need, arms, kind in merged.values():
            name = names[need.identity] + (f"/r{repeat}" if spec.search_repeats > 1 else "")
            notation = str(ctx.archs[need.arch_key].arch.notation)
            plan.searches.append(Search(name, need, tuple(arms), kind, repeat, seed, notation))
    return plan


def known_units(ctx: StudyContext, runs: RunResults) -> list[Unit]:
    """Every arm's search-phase trials with a known LR, given the finished ones (`runs`): a probe's grid
    and the extensions its finished points call for. A function of `runs` alone, so that a resumed
    study re-derives the same trials from its stored rows."""
    return [u for name, arm in ctx.spec.strategies.items() for u in get_strategy(arm.kind).units(name, arm, ctx, runs)]


def probed_lrs(ctx: StudyContext, runs: RunResults) -> dict[tuple[str, str], Probed]:
    """The settled results of every arm's known-LR trials (`runs`), by (arm, architecture key)."""
    return {
        (name, key): probed
        for name, arm in ctx.spec.strategies.items()
        for key, probed in get_strategy(arm.kind).probed(name, arm, ctx, runs).items()
    }


def search_names(ctx: StudyContext, needs: list[SearchNeed]) -> dict[str, str]:
    """Readable, unique Optuna study names: `{study}/{label}/{architecture's short label}`, plus a
    short hash of the search's identity only where two searches would otherwise share a name."""
    base = {n.identity: f"{ctx.name}/{n.label}/{short_label(ctx.archs[n.arch_key])}" for n in needs}
    counts: dict[str, int] = {}
    for name in base.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        identity: name if counts[name] == 1 else f"{name}#{hashlib.sha256(identity.encode()).hexdigest()[:6]}"
        for identity, name in base.items()
    }


def short_label(info: ArchInfo, width: int = 40) -> str:
    """The architecture's label (its notation, or NAS-Bench-201 code), cut in the middle when long."""
    text = info.arch.label
    if len(text) <= width:
        return text
    return f"{text[: width // 2]}…{text[-(width // 2 - 1) :]}"


def final_plan(ctx: StudyContext, found: list[Found]) -> tuple[PhasePlan, list[ArmChoice]]:
    """Every arm with final runs: its LR per listed architecture for each search repeat (`found[r]`),
    trained with every final seed. An LR that no search chose (a given one) runs once, as repeat 0;
    arms whose searches have no result yet are left out."""
    spec, plan, choices = ctx.spec, PhasePlan("final"), []
    for name, arm in spec.strategies.items():
        strategy = get_strategy(arm.kind)
        if not strategy.has_finals:
            continue
        init, recipe = ctx.arm_init(arm), strategy.recipe(name, arm, ctx)
        model = strategy.model_options(name, arm, ctx)
        for info in ctx.study_archs():
            for repeat, results in enumerate(found):
                choice = strategy.final_lr(name, arm, ctx, info, results)
                if choice is None or (repeat > 0 and choice.search is None):
                    continue  # an LR no search chose is the same in every repeat: its repeat-0 runs stand
                choices.append(ArmChoice(name, info.key, repeat, choice))
                plan.units.extend(
                    Unit(RunKey(info.key, name, Phase.FINAL, seed, 0, repeat), arm.kind, choice.lr, init, recipe, model)
                    for seed in spec.seeds
                )
    return plan, choices


def arm_rows(ctx: StudyContext, searches: list[Search]) -> list[dict[str, Any]]:
    """The plan's arms as rows: name, kind, position, label, whether it has final runs, its settings,
    and its final runs' recipe with the LR search it relies on (what a fair comparison must match)."""
    rows = []
    for position, (name, arm) in enumerate(ctx.spec.strategies.items()):
        strategy = get_strategy(arm.kind)
        own = [s for s in searches if name in s.arms and s.repeat == 0]
        lr_search = own[0].need.search.model_dump(mode="json") if own else None
        model = strategy.model_options(name, arm, ctx)
        recipe = {
            "init": ctx.arm_init(arm),
            **({"model": model} if model else {}),
            **strategy.recipe(name, arm, ctx),
            "lr_search": lr_search,
        }
        rows.append(
            {
                "arm": name,
                "kind": arm.kind,
                "position": position,
                "label": strategy.label(name, arm),
                "final": strategy.has_finals,
                "settings": arm.model_dump(mode="json"),
                "recipe": recipe,
            }
        )
    return rows


def default_pairs(ctx: StudyContext) -> list[tuple[str, str]]:
    """The study's `compare:` pairs, else every arm with final runs against `principled` (when there
    is an arm of that name), else every pair of arms with final runs in YAML order."""
    if ctx.spec.compare is not None:
        return [tuple(p) for p in ctx.spec.compare]  # type: ignore[misc]
    finals = [n for n, a in ctx.spec.strategies.items() if get_strategy(a.kind).has_finals]
    if "principled" in finals:
        return [("principled", other) for other in finals if other != "principled"]
    return [(a, b) for i, a in enumerate(finals) for b in finals[i + 1 :]]
