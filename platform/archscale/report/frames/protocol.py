"""What a stored study did, as a reviewer reads a protocol (frames stage): batch, SGD steps per run, epochs,
the probe's grid, seeds, criterion, data and width, read from the study's stored YAML and plan, never
typed by hand; and a full study's estimated device-hours, read from the `# device-hours:` line its YAML
states (`archscale plan` estimates it)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscale.report.frames.study import Inputs
from archscale.vocabulary import Phase

DEVICE_HOURS = re.compile(r"^#\s*device-hours:\s*([0-9.]+)\s*(.*)$", re.MULTILINE)
"""A study YAML's statement of its cost: `# device-hours: 420 (how it was estimated)`."""


@dataclass(frozen=True)
class Protocol:
    """A study's protocol: `final` for claims on final runs, `probe` for claims on probed max LRs (None
    when the study has no probe arm); which one a claim states is the claim's choice."""

    final: dict[str, Any]
    probe: dict[str, Any] | None


def study_protocol(yaml_text: str, name: str, inputs: Inputs) -> Protocol:
    """The protocol of the stored study `name` (its YAML as stored; sizes from loading its dataset)."""
    import archscale.strategies  # noqa: F401  (registers the strategy kinds the stored YAML names)
    from archscale.study.load import parse_stored_study

    spec = parse_stored_study(yaml_text, name).spec
    sizes = _sizes(spec)
    train = sizes.get("train")
    batch = spec.training.batch_size
    dataset = {"name": spec.dataset.name, **sizes, "val_fraction": spec.dataset.val_fraction}
    if spec.dataset.limit is not None:
        dataset["limit"] = spec.dataset.limit
    common = {"batch_size": batch, "dataset": dataset, "width": spec.model.width, "family": spec.model.family}
    final = {
        **common,
        "epochs": spec.training.epochs,
        "steps_per_run": _steps(train, batch, spec.training.epochs),
        "grid": None,
        "seeds": list(spec.seeds),
        "criterion": "test accuracy of the final runs (LR chosen on validation accuracy)",
        "search": {
            **spec.search.model_dump(mode="json", include={"trials", "sampler", "low", "high"}),
            "repeats": spec.search_repeats,
            "seeds": spec.repeat_seeds(),
        },
    }
    probes = [(arm, a) for arm, a in spec.strategies.items() if a.kind == "probe"]
    probe = None
    if probes:
        arm, settings = probes[0]
        s = settings.model_dump(mode="json")
        probe = {
            **common,
            "epochs": s["epochs"],
            "steps_per_run": _steps(train, batch, s["epochs"]),
            "grid": {
                "low": s["low"],
                "high": s["high"],
                "points": s["points"],
                "ratio": math.exp(math.log(s["high"] / s["low"]) / (s["points"] - 1)),
                "extend": s.get("extend"),
            },
            "seeds": _seeds(inputs, Phase.PROBE, arm),
            "criterion": f"{s['criterion']} after the last epoch, mean over seeds; lowest wins",
            "optimizer": s["optimizer"],
            "schedule": s["schedule"],
            "convention": s["convention"],
        }
    return Protocol(final, probe)


def _seeds(inputs: Inputs, phase: Phase, arm: str) -> list[int]:
    """The seeds the arm's trials of `phase` trained with, as stored."""
    t = inputs.trials
    return sorted(int(s) for s in t.loc[(t["phase"] == phase) & (t["arm"] == arm), "seed"].unique())


def _steps(train: int | None, batch: int, epochs: int) -> int | None:
    """SGD steps of one run: batches per epoch (the last one partial) × epochs."""
    return None if train is None else math.ceil(train / batch) * epochs


def _sizes(spec: Any) -> dict[str, int]:
    """The dataset's split sizes as the study trains on them (empty when its files cannot be read here)."""
    from archscale.data import load_dataset
    from archscale.errors import UserError

    try:
        data = load_dataset(**spec.dataset.load_options())
    except (UserError, OSError):
        return {}
    return {"train": len(data.train), "val": len(data.val), "test": len(data.test)}


def device_hours(path: Path) -> tuple[float | None, str | None]:
    """(estimated device-hours, how they were estimated) as the study YAML at `path` states them."""
    if not path.exists():
        return None, None
    match = DEVICE_HOURS.search(path.read_text(encoding="utf-8"))
    if match is None:
        return None, None
    return float(match.group(1)), match.group(2).strip() or None
