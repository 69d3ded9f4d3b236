"""The strategy registry: `@register_strategy("name")` on a `Strategy` class, `list_strategies()`,
`get_strategy(kind)`, in the style of the model, init and dataset registries.

A strategy kind is one module (see `fixed.py`, `principled.py`, `tuned.py`, `probe.py`): its pydantic
settings, the searches it needs, the trials it runs with a known LR, the LR of its final runs, its
recipe overrides, how its search cost is charged, and its display label. Nothing outside
`archscale.strategies` branches on a kind's name.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from archscale.settings import ArmSettings, register_arm_kind

if TYPE_CHECKING:
    from archscale.graph import Architecture
    from archscale.strategies.context import ArchInfo, StudyContext
    from archscale.strategies.grid import Probed
    from archscale.strategies.needs import Choice, Found, RunResults, SearchNeed, Unit
    from archscale.study.spec import StudySpec


class Strategy:
    """A kind of arm; subclass it in one module and decorate the class with `@register_strategy`.
    Methods receive the arm's name and its validated settings (an instance of `settings`).

    - `settings`: the pydantic model of the arm's YAML (a subclass of `archscale.settings.ArmSettings`,
      whose `check` and `default_init` the study calls when it reads the YAML);
    - `has_finals`: whether its arms have final runs (and so are compared on accuracy);
    - `label(name, arm)`: how reports name the arm;
    - `base_network(arm, spec)`: the base network it searches or probes on, or None;
    - `check_arms(name, arm, spec)`: raise ArmError when the arm does not fit the study's other arms
      (called when the study's context is built);
    - `recipe(name, arm, ctx)`: its final runs' training config fields (no lr, no seed);
    - `model_options(name, arm, ctx)`: `build_model` keywords its runs add to the study's (e.g. a
      parametrization);
    - `searches(name, arm, ctx)`: the LR searches it needs (identical needs of several arms run once
      and are charged to each of them);
    - `units(name, arm, ctx, runs)`: search-phase trials with a known LR (a probe's grid), given those
      finished so far (`runs`: a probe extends its grid from them);
    - `probed(name, arm, ctx, runs)`: what its known-LR trials settled per architecture key (a probe's
      maximal LR, once no more points are due), for other arms' `final_lr` (`Found.probed`);
    - `final_lr(name, arm, ctx, info, found)`: the LR of its final runs on `info` given one search
      repeat's results, or None when a search it needs has no result.
    """

    kind: ClassVar[str] = ""
    settings: ClassVar[type[ArmSettings]]
    has_finals: ClassVar[bool] = True

    def label(self, name: str, arm: Any) -> str:
        return name

    def base_network(self, arm: Any, spec: StudySpec) -> Architecture | None:
        return None

    def recipe(self, name: str, arm: Any, ctx: StudyContext) -> dict[str, Any]:
        return ctx.recipe()

    def model_options(self, name: str, arm: Any, ctx: StudyContext) -> dict[str, Any]:
        return {}

    def searches(self, name: str, arm: Any, ctx: StudyContext) -> list[SearchNeed]:
        return []

    def check_arms(self, name: str, arm: Any, spec: StudySpec) -> None:
        return None

    def units(self, name: str, arm: Any, ctx: StudyContext, runs: RunResults) -> list[Unit]:
        return []

    def probed(self, name: str, arm: Any, ctx: StudyContext, runs: RunResults) -> dict[str, Probed]:
        return {}

    def final_lr(self, name: str, arm: Any, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        return None


_KINDS: dict[str, Strategy] = {}
S = TypeVar("S", bound=type[Strategy])


def register_strategy(kind: str) -> Callable[[S], S]:
    """Class decorator registering a `Strategy` subclass under `kind` (one instance is kept), and its
    settings as the parser of the kind's arms."""

    def register(cls: S) -> S:
        register_arm_kind(kind, cls.settings)
        cls.kind = kind
        _KINDS[kind] = cls()
        return cls

    return register


def list_strategies(pattern: str = "*") -> list[str]:
    """Names of the registered strategy kinds matching a shell-style pattern, sorted."""
    return sorted(kind for kind in _KINDS if fnmatch.fnmatch(kind, pattern))


def get_strategy(kind: str) -> Strategy:
    """The registered strategy of `kind`; ValueError naming the known kinds otherwise."""
    if kind not in _KINDS:
        raise ValueError(f"unknown strategy kind '{kind}'; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind]
