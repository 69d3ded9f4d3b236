"""The study schema. Every model forbids unknown keys; defaults are documented in the README.

A study trains `architectures` under named **arms** (`strategies:`), each an instance of a registered
strategy kind (`archscale.strategies`: `fixed`, `principled`, `tuned`, `probe`, ...) with its own
settings, with one `training` recipe on one `dataset`. Every LR search of the study (the base-LR
search and the per-architecture searches) shares the study's `search:` configuration unless an arm
overrides a field. Arms with final runs then train their chosen LR with every seed of `seeds`.

Shorthand: a `strategies:` key that names a kind (`fixed: {...}`) is an arm of that kind with that
name; any other name needs `kind:` (`principled-kaiming: {kind: principled, init: kaiming}`).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any, Literal

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from archscale.settings import ArmSettings, OptimizerSpec, SearchSpec, Strict, parse_arm
from archscale.train.config import TrainConfig

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
DEFAULT_SEARCH_SEED = 10_000
"""Search repeat r trains its trials with seed DEFAULT_SEARCH_SEED + r unless `search_seeds` says otherwise."""


class DatasetSpec(Strict):
    """Which data, and how the training set is split into train and validation."""

    name: str = Field(
        description="A registered dataset: digits, mnist1d, synthetic, cifar10, cifar100, imagenet16-120, "
        "or your own files: npz, image-folder, table."
    )
    root: str | None = Field(None, description="Directory of file-based datasets (CIFAR, ImageNet16).")
    path: str | None = Field(
        None,
        description="npz, image-folder, table: the file or folder; a relative path is relative to the study "
        "file's folder (stored absolute).",
    )
    x: str | None = Field(None, description="npz: the name of the inputs array [x] (x_val, x_test by suffix).")
    y: str | None = Field(None, description="npz: the name of the labels array [y] (y_val, y_test by suffix).")
    target: str | None = Field(None, description="table: the column of class labels.")
    digest: str | None = Field(
        None,
        description="npz, image-folder, table: sha256 of the data, filled in when the study is stored; a run "
        "whose data differ stops.",
    )
    val_fraction: float = Field(0.2, ge=0, lt=1, description="Share of the training set held out for validation.")
    split_seed: int = Field(0, description="Seed of the train/validation split (fixed across trials).")
    limit: int | None = Field(None, ge=1, description="Use at most this many training examples.")
    test_limit: int | None = Field(None, ge=1, description="Use at most this many test examples.")
    standardize: Literal["global", "per-feature"] = Field(
        "global", description="Flat datasets: one mean/std for all features, or per feature (training split only)."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Dataset-specific keywords.")

    def load_options(self) -> dict[str, Any]:
        """The keywords of `archscale.data.load_dataset` for this dataset."""
        return {**self.model_dump(exclude={"options"}, exclude_none=True), **self.options}


class ModelSpec(Strict):
    """How every architecture of the study is built, and the init arms use unless they say otherwise."""

    family: Literal["mlp", "cnn", "nb201", "torch"] = Field(
        "mlp", description="mlp, cnn or nb201; torch: your own nn.Module (factory, args)."
    )
    factory: str | None = Field(
        None, description="torch: the module's factory, package.module:callable (the current directory is importable)."
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="torch: the factory's keyword arguments (an architecture's args override)."
    )
    unsupported: Literal["error", "ignore"] = Field(
        "error", description="torch: an op the theory does not cover stops the study, or (ignore) is depth-neutral."
    )
    width: int | None = Field(None, ge=1, description="Hidden width (MLP), channels (CNN), C (NB201).")
    cells: int = Field(5, ge=1, description="NAS-Bench-201 cells per stage (N).")
    kernel_size: int = Field(3, ge=1, description="CNN kernel size (the LR carries 3/k).")
    batch_norm: bool = Field(False, description="Batch norm in MLP/CNN blocks (NB201 always has it).")
    activation: Literal["relu", "gelu"] = Field("relu", description="MLP and CNN nonlinearity (paper App. E.2).")
    prune_dead_edges: bool = Field(
        False,
        description="NAS-Bench-201: leave out edges from nodes the cell's input never reaches (unlike the benchmark).",
    )
    init: str = Field(
        "architecture-aware", description="The init scheme of every arm that names none (the paper's by default)."
    )

    @model_validator(mode="after")
    def _torch(self) -> ModelSpec:
        if (self.family == "torch") != (self.factory is not None):
            raise ValueError("factory is required with family torch, and only with it")
        if self.family != "torch" and (self.args or self.unsupported != "error"):
            raise ValueError("args and unsupported are settings of family torch only")
        return self

    def build_options(self) -> dict[str, Any]:
        """The keywords of `archscale.nn.build_model` for every architecture of the study."""
        return self.model_dump(include={"width", "cells", "batch_norm", "activation", "prune_dead_edges"})

    def caveat(self) -> str | None:
        """The sentence a report of this study states about its models, None when there is none: with
        `unsupported: ignore`, ops the paper's theory does not cover were read as depth-neutral."""
        if self.unsupported != "ignore":
            return None
        return (
            "model.unsupported is ignore: ops the paper's theory does not cover (concatenation, gating, attention, "
            "...) were treated as depth-neutral, so S, the principled LR and the init rest on a guess"
        )


_TRAIN = {f.name: f.default for f in fields(TrainConfig)}
"""The one set of training defaults: `archscale.train.TrainConfig`'s."""


class TrainingSpec(Strict):
    """The recipe shared by every trial (searches and final runs) unless an arm's kind overrides it;
    its defaults are `archscale.train.TrainConfig`'s."""

    epochs: int = Field(_TRAIN["epochs"], ge=1)
    max_steps: int | None = Field(_TRAIN["max_steps"], ge=1, description="Cap on optimizer steps per run.")
    batch_size: int = Field(_TRAIN["batch_size"], ge=1)
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: Literal["constant", "cosine"] = _TRAIN["schedule"]
    warmup_epochs: float = Field(_TRAIN["warmup_epochs"], ge=0)
    augment: bool = _TRAIN["augment"]
    device: Literal["auto", "cpu", "cuda"] = _TRAIN["device"]
    bf16: bool = _TRAIN["bf16"]
    channels_last: bool = _TRAIN["channels_last"]


class ResourcesSpec(Strict):
    cpu_per_trial: float = Field(1.0, gt=0)
    gpu_per_trial: float = Field(0.0, ge=0)
    max_concurrent: int | None = Field(None, ge=1, description="Trials at once; default: what the cluster fits.")
    max_failures: int = Field(2, ge=0, description="Retries of a trial whose worker failed.")
    pack: Literal["auto"] | Annotated[int, Field(ge=1)] = Field(
        "auto",
        description=(
            "Runs of one architecture (grid points, seeds, arms, a search's trials) train as one packed model: "
            "auto (16 per pack on CPU, 64 with a GPU, fewer where a worker's memory is short), K (at most), "
            "1 (never)."
        ),
    )


class SpaceSample(Strict):
    """Architectures drawn from a search space (only those with an input→output path)."""

    space: Literal["nb201", "mlp-dag", "cnn-dag"]
    nodes: int = Field(5, ge=2, le=8, description="Nodes of mlp-dag/cnn-dag graphs (nb201 cells have 4).")
    sample: int | Literal["all"] = "all"
    seed: int = 0


class DepthSweep(Strict):
    """Chains of parameterised blocks: depth d is `2_02_002...` with d blocks (nb201: conv3x3 cells)."""

    sweep: Literal["depth"]
    depths: list[Annotated[int, Field(ge=1)]]


class KernelSweep(Strict):
    """The same CNN architectures at several kernel sizes."""

    sweep: Literal["kernel_size"]
    kernel_sizes: list[Annotated[int, Field(ge=1)]]
    architectures: list[str]


class WidthSweep(Strict):
    """The same architectures at several widths (MLP width, CNN channels, NAS-Bench-201 C)."""

    sweep: Literal["width"]
    widths: list[Annotated[int, Field(ge=1)]]
    architectures: list[str]


class TorchVariant(Strict):
    """A variant of a `family: torch` model: `args` over the model's, and a readable `name` (default:
    `callable(k=v, ...)` of these args)."""

    name: str | None = Field(None, pattern=NAME_PATTERN, max_length=60)
    args: dict[str, Any] = Field(default_factory=dict)


ArchitectureEntry = str | list[dict[str, Any]] | SpaceSample | DepthSweep | KernelSweep | WidthSweep | TorchVariant


class StudySpec(Strict):
    """A whole study; `name` identifies it in the database."""

    name: str = Field(pattern=NAME_PATTERN, max_length=120)
    description: str = ""
    imports: list[Annotated[str, Field(pattern=MODULE_PATTERN)]] = Field(
        default_factory=list,
        description="Modules to import before the study is read, in the driver and in every worker (they register "
        "datasets, init schemes or strategy kinds); the current directory is importable.",
    )
    python_path: list[str] = Field(
        default_factory=list,
        description="Folders of code that is not installed, put first on the import path in the driver and in every "
        "worker before `imports:` and the model's factory are imported; relative to the study file.",
    )
    dataset: DatasetSpec
    model: ModelSpec = ModelSpec()
    architectures: list[ArchitectureEntry] = Field(min_length=1)
    training: TrainingSpec = TrainingSpec()
    seeds: list[int] = Field([0, 1, 2], min_length=1, description="Seeds of the final runs.")
    search: SearchSpec = Field(SearchSpec(), description="The one configuration of every LR search of the study.")
    search_repeats: int = Field(1, ge=1, description="Repeat every search with independent sampler and training seeds.")
    search_seeds: list[int] | None = Field(
        None, description=f"Training seed of each search repeat; default {DEFAULT_SEARCH_SEED} + repeat."
    )
    strategies: dict[str, SerializeAsAny[ArmSettings]] = Field(
        min_length=1, description="Arms: name → settings with `kind` (a kind's name as the key needs no `kind`)."
    )
    compare: list[tuple[str, str]] | None = Field(
        None, description="Arm pairs (a, b) reported as a − b; default: every arm with final runs against `principled`."
    )
    resources: ResourcesSpec = ResourcesSpec()

    @field_validator("strategies", mode="before")
    @classmethod
    def _arms(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if not value:
            raise ValueError("give at least one arm (e.g. fixed, principled, tuned, probe)")
        return {name: parse_arm(name, raw) for name, raw in value.items()}

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        import re

        for name in self.strategies:
            if not re.fullmatch(NAME_PATTERN, name) or len(name) > 60:
                raise ValueError(f"arm name '{name}' must match {NAME_PATTERN} (at most 60 characters)")
        seeds = self.repeat_seeds()
        if len(set(seeds)) != len(seeds):
            twice = sorted({s for s in seeds if seeds.count(s) > 1})
            raise ValueError(f"search_seeds {twice} are given twice: every search repeat needs its own seed")
        if len(seeds) != self.search_repeats:
            raise ValueError(f"search_seeds has {len(seeds)} seeds for {self.search_repeats} search_repeats")
        reused = sorted(set(seeds) & set(self.seeds))
        if reused:
            raise ValueError(
                f"search_seeds {reused} are also final-run seeds: a final run never reuses a search's seed"
            )
        for a, b in self.compare or []:
            for arm in (a, b):
                if arm not in self.strategies:
                    raise ValueError(f"compare: unknown arm '{arm}'; arms: {', '.join(self.strategies)}")
        for name, arm in self.strategies.items():
            arm.check(name, self.search, self.training.epochs, self.model.family)
        return self

    def repeat_seeds(self) -> list[int]:
        """The training seed of each search repeat."""
        if self.search_seeds is not None:
            return list(self.search_seeds)
        return [DEFAULT_SEARCH_SEED + r for r in range(self.search_repeats)]

    def arm_init(self, arm: ArmSettings) -> dict[str, str]:
        """The `init_model` settings of an arm's runs: its scheme (or its kind's default, or the
        study's) and the scheme options."""
        return {
            "init": arm.init or arm.default_init(self.model.family) or self.model.init,
            "degree_rule": arm.degree_rule,
            "readout": arm.readout,
            "gain": arm.gain,
        }
