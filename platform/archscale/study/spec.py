"""The study schema. Every model forbids unknown keys; defaults are documented in the README.

A study trains `architectures` under `strategies` with one `training` recipe on one `dataset`:
- `fixed`: one LR for all architectures: a number, or `base` (the base network's searched LR, unscaled);
- `principled`: the base LR (given, or searched on the base network) scaled by the paper's rule,
  with architecture-aware initialisation;
- `tuned`: an Optuna search per architecture, optionally with ASHA early stopping;
- `probe`: an LR grid with a short budget per architecture (the paper's maximal-LR protocol).
Then every strategy's chosen LR is trained with every seed and the full budget ("final runs").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PositiveFloat = Annotated[float, Field(gt=0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(Strict):
    """Which data, and how the training set is split into train and validation."""

    name: str = Field(
        description="A registered dataset: digits, mnist1d, synthetic, cifar10, cifar100, imagenet16-120."
    )
    root: str | None = Field(None, description="Directory of file-based datasets (CIFAR, ImageNet16).")
    val_fraction: float = Field(0.2, ge=0, lt=1, description="Share of the training set held out for validation.")
    split_seed: int = Field(0, description="Seed of the train/validation split (fixed across trials).")
    limit: int | None = Field(None, ge=1, description="Use at most this many training examples.")
    test_limit: int | None = Field(None, ge=1, description="Use at most this many test examples.")
    options: dict[str, Any] = Field(default_factory=dict, description="Dataset-specific keywords.")


class ModelSpec(Strict):
    """How every architecture of the study is built."""

    family: Literal["mlp", "cnn", "nb201"] = Field("mlp", description="mlp, cnn or nb201.")
    width: int | None = Field(None, ge=1, description="Hidden width (MLP), channels (CNN), C (NB201).")
    cells: int = Field(5, ge=1, description="NAS-Bench-201 cells per stage (N).")
    kernel_size: int = Field(3, ge=1, description="CNN kernel size (the LR carries 3/k).")
    batch_norm: bool = Field(False, description="Batch norm in MLP/CNN blocks (NB201 always has it).")


class OptimizerSpec(Strict):
    name: Literal["sgd"] = "sgd"
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0)


class TrainingSpec(Strict):
    """The recipe shared by every trial (searches and final runs)."""

    epochs: int = Field(5, ge=1)
    max_steps: int | None = Field(None, ge=1, description="Cap on optimizer steps per run.")
    batch_size: int = Field(32, ge=1)
    optimizer: OptimizerSpec = OptimizerSpec()
    schedule: Literal["constant", "cosine"] = "cosine"
    warmup_epochs: float = Field(0.0, ge=0)
    augment: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = False
    channels_last: bool = False


class SearchSpec(Strict):
    """An Optuna search over a log-uniform LR range."""

    trials: int = Field(12, ge=1)
    low: PositiveFloat = 1e-3
    high: PositiveFloat = 1.0
    sampler: Literal["tpe", "random"] = "tpe"
    seed: int = Field(0, description="Seed of the sampler.")

    @model_validator(mode="after")
    def _range(self) -> SearchSpec:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class BaseLrSearch(Strict):
    search: SearchSpec = SearchSpec()


class FixedStrategy(Strict):
    lr: PositiveFloat | Literal["base"] = Field(
        "base", description="A number, or `base`: the searched base LR, unscaled."
    )
    init: str = "kaiming"


class PrincipledStrategy(Strict):
    base_lr: PositiveFloat | BaseLrSearch = Field(
        BaseLrSearch(), description="The base network's LR, or {search: ...} to find it with Optuna."
    )
    base: str | list[dict[str, Any]] | None = Field(None, description="Base network; default: the family's shallowest.")
    init: str = "architecture-aware"
    convention: Literal["official", "paper"] = "official"
    degree_rule: Literal["source", "target"] = "source"
    readout: Literal["official", "mup", "paper"] = "official"


class EarlyStopping(Strict):
    scheduler: Literal["asha"] = "asha"
    grace_epochs: int = Field(1, ge=1, description="Epochs every trial runs before it can be stopped.")
    reduction_factor: int = Field(3, ge=2)


class TunedStrategy(SearchSpec):
    early_stopping: EarlyStopping | None = None
    init: str = "kaiming"


class ProbeStrategy(Strict):
    """A geometric LR grid; an architecture's maximal LR is the largest reaching the lowest training loss."""

    low: PositiveFloat = 1e-4
    high: PositiveFloat = 1.0
    points: int = Field(17, ge=2)
    epochs: int = Field(1, ge=1)
    criterion: Literal["train_loss", "train_loss_tail"] = "train_loss"
    init: str = "architecture-aware"
    convention: Literal["official", "paper"] = "official"
    optimizer: OptimizerSpec = OptimizerSpec(momentum=0.0)
    schedule: Literal["constant", "cosine"] = "constant"


class Strategies(Strict):
    fixed: FixedStrategy | None = None
    principled: PrincipledStrategy | None = None
    tuned: TunedStrategy | None = None
    probe: ProbeStrategy | None = None

    @model_validator(mode="after")
    def _some(self) -> Strategies:
        if not any((self.fixed, self.principled, self.tuned, self.probe)):
            raise ValueError("give at least one of fixed, principled, tuned, probe")
        return self


class ResourcesSpec(Strict):
    cpu_per_trial: float = Field(1.0, gt=0)
    gpu_per_trial: float = Field(0.0, ge=0)
    max_concurrent: int | None = Field(None, ge=1, description="Trials at once; default: what the cluster fits.")
    max_failures: int = Field(2, ge=0, description="Retries of a trial whose worker failed.")


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


ArchitectureEntry = str | list[dict[str, Any]] | SpaceSample | DepthSweep | KernelSweep | WidthSweep


class StudySpec(Strict):
    """A whole study; `name` identifies it in the database."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=120)
    description: str = ""
    dataset: DatasetSpec
    model: ModelSpec = ModelSpec()
    architectures: list[ArchitectureEntry] = Field(min_length=1)
    training: TrainingSpec = TrainingSpec()
    seeds: list[int] = Field([0, 1, 2], min_length=1)
    strategies: Strategies
    resources: ResourcesSpec = ResourcesSpec()

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        probe, tuned = self.strategies.probe, self.strategies.tuned
        if probe is not None and probe.low >= probe.high:
            raise ValueError(f"strategies.probe: low ({probe.low}) must be below high ({probe.high})")
        if tuned is not None and tuned.early_stopping and tuned.early_stopping.grace_epochs > self.training.epochs:
            raise ValueError(
                f"strategies.tuned.early_stopping.grace_epochs ({tuned.early_stopping.grace_epochs}) must not "
                f"exceed training.epochs ({self.training.epochs})"
            )
        return self
