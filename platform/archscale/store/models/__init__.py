"""The SQLAlchemy models of the results database, one concept per module, finders beside them."""

from archscale.store.models.architecture import Architecture
from archscale.store.models.base import Base
from archscale.store.models.benchmark import BENCHMARK_KEY, BenchmarkResult
from archscale.store.models.epoch import Epoch
from archscale.store.models.plan import Choice, StudyArchitecture, StudyArm, StudySearch
from archscale.store.models.study import Study
from archscale.store.models.trial import NATURAL_KEY, Trial, key_columns, run_key

__all__ = [
    "BENCHMARK_KEY",
    "NATURAL_KEY",
    "Architecture",
    "Base",
    "BenchmarkResult",
    "Choice",
    "Epoch",
    "Study",
    "StudyArchitecture",
    "StudyArm",
    "StudySearch",
    "Trial",
    "key_columns",
    "run_key",
]
