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

from pydantic import ValidationError

if TYPE_CHECKING:
    from archscale.graph import Architecture
    from archscale.strategies.context import ArchInfo, StudyContext
    from archscale.strategies.needs import Choice, Found, SearchNeed, UnitNeed
    from archscale.study.spec import ArmSettings, StudySpec


class Strategy:
    """A kind of arm; subclass it in one module and decorate the class with `@register_strategy`.
    Methods receive the arm's name and its validated settings (an instance of `settings`).

    - `settings`: the pydantic model of the arm's YAML (a subclass of `ArmSettings`);
    - `has_finals`: whether its arms have final runs (and so are compared on accuracy);
    - `label(name, arm)`: how reports name the arm;
    - `check(name, arm, spec)`: raise ValueError when the arm does not fit the study (run with the YAML);
    - `base_network(arm, spec)`: the base network it searches or probes on, or None;
    - `default_init(arm, spec)`: its init scheme when the arm names none (None: `model.init`);
    - `recipe(name, arm, ctx)`: its final runs' training config fields (no lr, no seed);
    - `model_options(name, arm, ctx)`: `build_model` keywords its runs add to the study's (e.g. a
      parametrization);
    - `searches(name, arm, ctx)`: the LR searches it needs (identical needs of several arms run once
      and are charged to each of them);
    - `units(name, arm, ctx)`: search-phase trials with a known LR (a probe's grid);
    - `final_lr(name, arm, ctx, info, found)`: the LR of its final runs on `info` given one search
      repeat's results, or None when a search it needs has no result.
    """

    kind: ClassVar[str] = ""
    settings: ClassVar[type[ArmSettings]]
    has_finals: ClassVar[bool] = True

    def label(self, name: str, arm: Any) -> str:
        return name

    def check(self, name: str, arm: Any, spec: StudySpec) -> None:
        return None

    def base_network(self, arm: Any, spec: StudySpec) -> Architecture | None:
        return None

    def default_init(self, arm: Any, spec: StudySpec) -> str | None:
        """The init scheme of an arm that names none (None: the study's `model.init`)."""
        return None

    def recipe(self, name: str, arm: Any, ctx: StudyContext) -> dict[str, Any]:
        return ctx.recipe()

    def model_options(self, name: str, arm: Any, ctx: StudyContext) -> dict[str, Any]:
        return {}

    def searches(self, name: str, arm: Any, ctx: StudyContext) -> list[SearchNeed]:
        return []

    def units(self, name: str, arm: Any, ctx: StudyContext) -> list[UnitNeed]:
        return []

    def final_lr(self, name: str, arm: Any, ctx: StudyContext, info: ArchInfo, found: Found) -> Choice | None:
        return None


_KINDS: dict[str, Strategy] = {}
S = TypeVar("S", bound=type[Strategy])


def register_strategy(kind: str) -> Callable[[S], S]:
    """Class decorator registering a `Strategy` subclass under `kind` (one instance is kept)."""

    def register(cls: S) -> S:
        if kind in _KINDS:
            raise ValueError(f"strategy kind {kind} is already registered")
        cls.kind = kind
        _KINDS[kind] = cls()
        return cls

    return register


def _builtins() -> None:
    import archscale.strategies  # noqa: F401  (its package registers the built-in kinds)


def list_strategies(pattern: str = "*") -> list[str]:
    """Names of the registered strategy kinds matching a shell-style pattern, sorted."""
    _builtins()
    return sorted(kind for kind in _KINDS if fnmatch.fnmatch(kind, pattern))


def get_strategy(kind: str) -> Strategy:
    """The registered strategy of `kind`; ValueError naming the known kinds otherwise."""
    _builtins()
    if kind not in _KINDS:
        raise ValueError(f"unknown strategy kind '{kind}'; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[kind]


def arm_settings(name: str, raw: Any) -> Any:
    """Validate one arm's YAML into its kind's settings. The kind is `raw["kind"]`, else the arm's
    name (the shorthand `fixed: {...}`). Errors are re-raised with the arm's path for the YAML loader."""
    from archscale.study.spec import ArmSettings

    if isinstance(raw, ArmSettings):
        return raw
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ArmError(name, (), f"an arm's settings must be a mapping, got {type(raw).__name__}")
    kind = raw.get("kind", name)
    try:
        strategy = get_strategy(str(kind))
    except ValueError as exc:
        where = ("kind",) if "kind" in raw else ()
        hint = "" if "kind" in raw else " (an arm whose name is not a kind needs `kind:`)"
        raise ArmError(name, where, f"{exc}{hint}") from None
    try:
        return strategy.settings.model_validate({**raw, "kind": strategy.kind})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; `archscale schema` lists the fields)"
        raise ArmError(name, tuple(error["loc"]), message) from None


class ArmError(ValueError):
    """An arm's settings are invalid: `arm`, the field path within it, and the message."""

    def __init__(self, arm: str, loc: tuple[Any, ...], message: str) -> None:
        self.arm, self.loc, self.message = arm, loc, message
        path = ".".join(str(p) for p in ("strategies", arm, *loc))
        super().__init__(f"{path}: {message}")
