"""`archscale plan STUDY`: what a study will run and cost, before it runs (no training, no Ray)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archscale.cli.options import SetOption


def plan(
    study: Annotated[Path, typer.Argument(help="The study YAML.")],
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as one JSON object.")] = False,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Count the Ray trials as `archscale run --simulate` packs them.")
    ] = False,
) -> None:
    """Runs, searches, Ray trials, epoch rows, device-hours and database size of a study, per phase and arm."""
    from rich.console import Console

    from archscale.execution.estimate import estimate
    from archscale.execution.study_setup import check
    from archscale.study import load_study

    loaded = load_study(study, set_ or [])
    found = estimate(check(loaded.spec.name, loaded, Console(stderr=True, quiet=as_json)), simulated=simulate)
    if as_json:
        print(json.dumps(found.to_json(), indent=2, allow_nan=False))
        return
    from archscale.cli.plan_render import print_estimate

    print_estimate(found)
