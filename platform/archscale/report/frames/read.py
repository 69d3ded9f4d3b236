"""The report's one reader of the results database (frames stage): a study's rows and plan as `Inputs`,
the facts its stored (effective) YAML states, a benchmark's imported results on the study's dataset, and
what the reproduction reads of each stored study. Nothing else in report/ opens the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.errors import UserError
from archscale.report.frames.protocol import Protocol, study_protocol
from archscale.report.frames.study import Inputs
from archscale.vocabulary import Phase

if TYPE_CHECKING:
    from sqlalchemy import Engine


def read_inputs(study: str, db: str | Engine) -> Inputs:
    """The store's frames for `study` and its plan. An unknown study raises UserError naming the known ones."""
    from archscale.store import read_epochs, read_plan, read_studies, read_trials

    trials = read_trials(db, study)
    studies = read_studies(db)
    row = studies[studies["name"] == study].iloc[0]
    epochs = read_epochs(db, study) if (trials["phase"] == Phase.PROBE).any() else None
    activation, caveats = _model_facts(str(row["yaml_text"]))
    return Inputs(study, str(row["status"]), trials, epochs, read_plan(db, study), activation, caveats)


def _model_facts(yaml_text: str) -> tuple[str, tuple[str, ...]]:
    """The stored study's model activation (relu, the schema's default, where it names none) and what
    every report of it must state about its models (`ModelSpec.caveat`)."""
    import yaml
    from pydantic import ValidationError

    from archscale.study.spec import ModelSpec

    try:
        data = yaml.safe_load(yaml_text)
        model = ModelSpec(**(data.get("model") or {})) if isinstance(data, dict) else ModelSpec()
    except (yaml.YAMLError, ValidationError, TypeError):
        return "relu", ()
    caveat = model.caveat()
    return model.activation, (caveat,) if caveat else ()


# --- a benchmark's imported results -------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkFrames:
    """A benchmark's imported results on a study's dataset (`results`: a `read_benchmark` frame, every
    epochs imported) and what the study trained: its `dataset`, training `study_epochs` (None where its
    YAML names none), `val_fraction` and `limit` (the schema's defaults where it names none)."""

    dataset: str
    study_epochs: int | None
    results: pd.DataFrame
    val_fraction: float
    limit: int | None


def read_benchmark_frames(db: str | Engine, study: str, benchmark: str) -> BenchmarkFrames | None:
    """`benchmark`'s imported results on the dataset of the stored study `study`; None when its YAML names
    no dataset or nothing of that dataset was imported."""
    dataset, epochs = study_dataset(db, study)
    if dataset is None:
        return None
    from archscale.store import read_benchmark

    results = read_benchmark(db, benchmark, dataset)
    if results.empty:
        return None
    return BenchmarkFrames(dataset, epochs, results, *study_training_split(db, study))


def _stored_yaml(db: str | Engine, study: str) -> Any:
    """The stored study's YAML as loaded (None when it is not stored); a YAML error propagates."""
    import yaml

    from archscale.store import read_studies

    studies = read_studies(db)
    text = studies.loc[studies["name"] == study, "yaml_text"]
    return yaml.safe_load(str(text.iloc[0])) if len(text) else None


def study_training_split(db: str | Engine, study: str) -> tuple[float, int | None]:
    """The study's (val_fraction, limit) from its stored YAML (the schema's defaults where it has none)."""
    import yaml

    from archscale.study.spec import DatasetSpec

    try:
        data = _stored_yaml(db, study)
    except yaml.YAMLError:
        data = None
    dataset = data.get("dataset") if isinstance(data, dict) else None
    dataset = dataset if isinstance(dataset, dict) else {}
    default = DatasetSpec.model_fields["val_fraction"].default
    fraction, limit = dataset.get("val_fraction", default), dataset.get("limit")
    return float(fraction), (int(limit) if isinstance(limit, int) else None)


def study_dataset(db: str | Engine, study: str) -> tuple[str | None, int | None]:
    """The study's dataset name and training epochs, from its stored (effective) YAML."""
    import yaml

    try:
        data = _stored_yaml(db, study)
    except yaml.YAMLError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    dataset, training = data.get("dataset"), data.get("training")
    name = dataset.get("name") if isinstance(dataset, dict) else None
    epochs = training.get("epochs") if isinstance(training, dict) else None
    return (str(name) if name else None), (int(epochs) if isinstance(epochs, int) else None)


# --- what the reproduction reads ----------------------------------------------------------------


@dataclass(frozen=True)
class StoredStudy:
    """A stored study as the reproduction measures it: its frames, its protocol (`study_protocol`) and its
    wall minutes from creation to finish (None while it has not finished)."""

    inputs: Inputs
    protocol: Protocol
    minutes: float | None


def read_stored_studies(names: Sequence[str], db: str | Engine) -> dict[str, StoredStudy | None]:
    """Each of the studies `names` as stored in `db` (None for a study that is not there)."""
    from archscale.store import read_studies

    studies = read_studies(db)
    out: dict[str, StoredStudy | None] = {}
    for name in dict.fromkeys(names):
        try:
            inputs = read_inputs(name, db)
        except UserError:
            out[name] = None
            continue
        text = str(studies.loc[studies["name"] == name, "yaml_text"].iloc[0])
        out[name] = StoredStudy(inputs, study_protocol(text, name, inputs), study_minutes(studies, name))
    return out


def study_minutes(studies: pd.DataFrame, name: str) -> float | None:
    """The stored study's wall minutes from creation to finish (None while it has not finished)."""
    row = studies[studies["name"] == name]
    if row.empty:
        return None
    created, finished = pd.to_datetime(row["created_at"].iloc[0]), pd.to_datetime(row["finished_at"].iloc[0])
    if pd.isna(created) or pd.isna(finished):
        return None
    return round((finished - created).total_seconds() / 60, 1)
