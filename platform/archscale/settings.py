"""The settings a study and its strategies share, as pydantic models of the study YAML: an LR
search's settings and every arm's settings (each built-in strategy kind's, with the checks and
defaults that need only the settings). Imports nothing else of archscale.

`archscale.study` builds the study's schema on these and parses each arm with its kind's settings
(`parse_arm`) without knowing any strategy; a strategy kind (`archscale.strategies.<kind>`) is the
behaviour of its settings. A kind added outside this module subclasses `ArmSettings` beside its
strategy, and `@register_strategy` registers the settings here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PositiveFloat = Annotated[float, Field(gt=0)]

DEFAULT_BATCH: dict[str, int] = {"tpe": 1, "random": 4}
"""Trials per round after the first, by sampler, when a search does not say (`SearchSpec.batch`)."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EarlyStopping(Strict):
    scheduler: Literal["asha"] = "asha"
    grace_epochs: int = Field(1, ge=1, description="Epochs every trial runs before it can be stopped.")
    reduction_factor: int = Field(3, ge=2)


class SearchSpec(Strict):
    """An Optuna search over a log-uniform LR range, optionally with ASHA early stopping within the search."""

    trials: int = Field(12, ge=1)
    low: PositiveFloat = 1e-3
    high: PositiveFloat = 1.0
    sampler: Literal["tpe", "random"] = "tpe"
    seed: int = Field(0, description="Seed of the sampler (mixed with each search's identity and repeat).")
    early_stopping: EarlyStopping | None = None
    batch: int | None = Field(
        None,
        ge=1,
        description="Trials asked at once in each round after the sampler's random start-up; the next round "
        "is asked once every trial of this one has been told. Default: tpe 1, random 4. Never the "
        "number of free workers, so a search takes the same path on any layout.",
    )

    def round_size(self) -> int:
        """The trials of each round after the first (`batch`, or the sampler's default)."""
        if self.batch is not None:
            return self.batch
        return DEFAULT_BATCH[self.sampler]

    @model_validator(mode="after")
    def _range(self) -> SearchSpec:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class SearchOverrides(Strict):
    """Fields that replace the study's `search:` for one arm's searches; a field left out is inherited
    (write `early_stopping: null` to switch early stopping off for this arm)."""

    trials: int | None = Field(None, ge=1)
    low: PositiveFloat | None = None
    high: PositiveFloat | None = None
    sampler: Literal["tpe", "random"] | None = None
    seed: int | None = None
    early_stopping: EarlyStopping | None = None
    batch: int | None = Field(None, ge=1)

    def over(self, study: SearchSpec) -> SearchSpec:
        """The study's search with this arm's fields in place (validated: low < high)."""
        given = {name: getattr(self, name) for name in self.model_fields_set}
        merged = {
            **study.model_dump(),
            **{k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in given.items()},
        }
        return SearchSpec.model_validate(merged)

    @property
    def overridden(self) -> bool:
        return bool(self.model_fields_set)


class ArmError(ValueError):
    """An arm's settings are invalid: `arm`, the field path within it, and the message."""

    def __init__(self, arm: str, loc: tuple[Any, ...], message: str) -> None:
        self.arm, self.loc, self.message = arm, loc, message
        path = ".".join(str(p) for p in ("strategies", arm, *loc))
        super().__init__(f"{path}: {message}")


class ArmSettings(Strict):
    """What every arm has: its kind and its init (None: the study's `model.init`). Each strategy kind
    subclasses this with its own fields (see `archscale.strategies`) and may override the two hooks
    the study calls: `check` (the arm fits the study) and `default_init`."""

    kind: str
    init: str | None = Field(None, description="Init scheme of this arm's runs; default: model.init.")
    degree_rule: Literal["source", "target"] = "source"
    readout: Literal["official", "mup", "paper"] = "official"
    gain: Literal["relu", "activation"] = "relu"

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        """Raise ArmError when the arm does not fit the study's `search`, training `epochs` and model `family`."""
        return None

    def default_init(self, family: str) -> str | None:
        """The init scheme of an arm that names none (None: the study's `model.init`)."""
        return None


def check_search(arm: str, loc: tuple[str, ...], overrides: SearchOverrides, search: SearchSpec, epochs: int) -> None:
    """The arm's search (the study's `search` with its overrides at `loc`) is valid and its early
    stopping's grace period fits in the training `epochs`; ArmError naming the field otherwise."""
    try:
        merged = overrides.over(search)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ArmError(arm, loc, message) from None
    if merged.early_stopping is not None and merged.early_stopping.grace_epochs > epochs:
        raise ArmError(
            arm,
            (*loc, "early_stopping", "grace_epochs"),
            f"{merged.early_stopping.grace_epochs} must not exceed training.epochs ({epochs})",
        )


class OptimizerSpec(Strict):
    """SGD's settings; the defaults are `archscale.train.TrainConfig`'s (tests/test_study_spec.py keeps them so)."""

    name: Literal["sgd"] = "sgd"
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0)


# The built-in strategy kinds' arm settings (their behaviour: `archscale.strategies.<kind>`).

BENCHMARK_LR = 0.1
BENCHMARK_INIT = "pytorch-default"
MUP_LR = 0.1
MUP_INIT = "mup"


class FixedSettings(ArmSettings):
    """`fixed`: one LR for every architecture (a number, or `base`: the base network's searched LR, unscaled)."""

    lr: PositiveFloat | Literal["base"] | None = Field(
        None, description="A number, or base (the searched base LR, unscaled) [benchmark: 0.1; else base]."
    )
    training: Literal["study", "benchmark"] | None = Field(
        None, description="The study's training, or NAS-Bench-201's [benchmark in nb201 studies, else study]."
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search (lr: base).")

    def benchmark(self, family: str) -> bool:
        """Whether the arm trains the way NAS-Bench-201 did (the default in nb201 studies)."""
        return (self.training or ("benchmark" if family == "nb201" else "study")) == "benchmark"

    def lr_of(self, family: str) -> float | Literal["base"]:
        if self.lr is not None:
            return self.lr
        return BENCHMARK_LR if self.benchmark(family) else "base"

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        if self.lr_of(family) == "base":
            check_search(name, ("search",), self.search, search, epochs)

    def default_init(self, family: str) -> str | None:
        return BENCHMARK_INIT if self.benchmark(family) else None


class BaseLrSearch(Strict):
    """A principled arm's base LR found by the study's search on the base network."""

    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search.")


class BaseLrProbe(Strict):
    """A principled arm's base LR taken from a probe arm of the study."""

    probe: str = Field(description="A probe arm of the study: its probed maximal LR of this arm's base network.")


class PrincipledSettings(ArmSettings):
    """`principled`: the base network's LR (given, searched, or probed) times the architecture's scale."""

    base_lr: PositiveFloat | BaseLrSearch | BaseLrProbe = Field(
        BaseLrSearch(),
        description="The base network's LR, {search: {...}} to find it with the study's search, or "
        "{probe: ARM} to take the probe arm ARM's maximal LR of the base network.",
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    convention: Literal["official", "paper"] = "official"

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        if isinstance(self.base_lr, BaseLrSearch):
            check_search(name, ("base_lr", "search"), self.base_lr.search, search, epochs)


class TunedSettings(ArmSettings, SearchOverrides):
    """The arm's init plus any field of the study's `search:` to override (trials, low, high, ...), and
    the sample of architectures it tunes."""

    sample: int | None = Field(None, ge=1, description="Tune only this many listed architectures (default: all).")
    sample_seed: int = Field(0, description="Seed of the draw of `sample` architectures.")

    def overrides(self) -> SearchOverrides:
        return SearchOverrides(
            **{f: getattr(self, f) for f in self.model_fields_set & set(SearchOverrides.model_fields)}
        )

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        check_search(name, (), self.overrides(), search, epochs)


class ProbeSettings(ArmSettings):
    """`probe`: the paper's maximal-LR protocol: a geometric LR grid with its own budget, optimizer and schedule."""

    low: PositiveFloat = 1e-4
    high: PositiveFloat = 1.0
    points: int = Field(17, ge=2)
    epochs: int = Field(1, ge=1)
    criterion: Literal["train_loss", "train_loss_tail"] = "train_loss"
    convention: Literal["official", "paper"] = "official"
    optimizer: OptimizerSpec = OptimizerSpec(momentum=0.0)
    schedule: Literal["constant", "cosine"] = "constant"
    extend: int = Field(8, ge=0, description="The most grid points added beyond each edge (0: never extend).")
    networks: Literal["all", "base"] = Field("all", description="Probe every architecture, or the base network alone.")
    seeds: list[int] | None = Field(
        None,
        min_length=1,
        description="The probe's training seeds (default: the study's seeds); a probe that sets a principled arm's "
        "base LR needs its own, never a final run's.",
    )

    def probe_seeds(self, study_seeds: Sequence[int]) -> list[int]:
        """The seeds every grid point trains with (the probe's own, else the study's)."""
        return list(self.seeds) if self.seeds is not None else list(study_seeds)

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        if self.low >= self.high:
            raise ArmError(name, ("low",), f"low ({self.low}) must be below high ({self.high})")


class MupSettings(ArmSettings):
    """`mup`: μP models trained with MuSGD at one LR (a number, or `base`: searched on the base network under μP)."""

    init: str | None = Field(MUP_INIT, description="Init scheme: mup (μP's init; the only one for μP models).")
    lr: PositiveFloat | Literal["base"] = Field(
        MUP_LR, description="MuSGD's LR: a number, or base (searched on the base network under μP) [0.1]."
    )
    base_width: int | None = Field(
        None, ge=1, description="μP's base width (C for nb201); default: the family's (MLP 128, CNN 32, nb201 16)."
    )
    base: str | list[dict[str, Any]] | None = Field(
        None, description="Base network (lr: base); default: the shallowest."
    )
    search: SearchOverrides = Field(SearchOverrides(), description="Overrides of the study's search (lr: base).")

    def check(self, name: str, search: SearchSpec, epochs: int, family: str) -> None:
        if self.init not in (None, MUP_INIT):
            raise ArmError(name, ("init",), f"a μP arm's models are drawn with init {MUP_INIT}, not '{self.init}'")
        if self.lr == "base":
            check_search(name, ("search",), self.search, search, epochs)

    def default_init(self, family: str) -> str | None:
        return MUP_INIT


_KINDS: dict[str, type[ArmSettings]] = {
    "fixed": FixedSettings,
    "mup": MupSettings,
    "principled": PrincipledSettings,
    "probe": ProbeSettings,
    "tuned": TunedSettings,
}
"""Each kind's arm settings: the built-in kinds', and those `register_strategy` adds."""


def register_arm_kind(kind: str, settings: type[ArmSettings]) -> None:
    """Make `kind`'s arms parse with `settings` (called by `archscale.strategies.register_strategy`; a
    built-in kind registers the settings it has here)."""
    if _KINDS.setdefault(kind, settings) is not settings:
        raise ValueError(f"strategy kind {kind} already parses its arms with {_KINDS[kind].__name__}")


def arm_kinds() -> dict[str, type[ArmSettings]]:
    """The registered kinds' settings, by kind, sorted."""
    return dict(sorted(_KINDS.items()))


def parse_arm(name: str, raw: Any) -> ArmSettings:
    """Validate one arm's YAML into its kind's settings. The kind is `raw["kind"]`, else the arm's
    name (the shorthand `fixed: {...}`). Errors are ArmErrors naming the arm's field, for the YAML loader."""
    if isinstance(raw, ArmSettings):
        return raw
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ArmError(name, (), f"an arm's settings must be a mapping, got {type(raw).__name__}")
    kind = str(raw.get("kind", name))
    if kind not in _KINDS:
        known = ", ".join(sorted(_KINDS))
        where = ("kind",) if "kind" in raw else ()
        hint = "" if "kind" in raw else " (an arm whose name is not a kind needs `kind:`)"
        raise ArmError(name, where, f"unknown strategy kind '{kind}'; known: {known}{hint}")
    try:
        return _KINDS[kind].model_validate({**raw, "kind": kind})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; `archscale schema` lists the fields)"
        raise ArmError(name, tuple(error["loc"]), message) from None
