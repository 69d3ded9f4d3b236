"""`archscale run` and `archscale schema`: run a study YAML; print the YAML's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from archscale.cli.options import DbOption, NewNameOption, ResumeOption, SetOption, UpgradeDbOption


def run(
    study: Annotated[Path, typer.Argument(help="The study YAML.")],
    db: DbOption = None,
    address: Annotated[str, typer.Option(help="local (embedded Ray), auto, or HOST:PORT of a Ray cluster.")] = "local",
    resume: ResumeOption = False,
    new_name: NewNameOption = None,
    set_: SetOption = None,
    upgrade_db: UpgradeDbOption = False,
    compare: Annotated[bool, typer.Option(help="Print the comparison when the study ends.")] = True,
    simulate: Annotated[
        bool,
        typer.Option(
            help="Train nothing: a synthetic trainer's deterministic metrics through the real plan, Ray Tune, "
            "packs, searches, early stopping and database; the study is marked simulated."
        ),
    ] = False,
) -> None:
    """Run a study: searches, then final runs of every arm, every trial into the database."""
    from rich.console import Console

    from archscale.execution.study_run import run_study
    from archscale.store import StudyStatus, resolve_url
    from archscale.study import load_study

    loaded = load_study(study, set_ or [])
    url = resolve_url(db)
    console = Console(stderr=True)
    result = run_study(
        loaded,
        url,
        address,
        resume=resume,
        new_name=new_name,
        upgrade_db=upgrade_db,
        console=console,
        simulate=simulate,
    )
    if compare:
        from archscale.cli.compare_render import print_comparison

        print_comparison(result.name, url)
    if result.status is not StudyStatus.COMPLETED:
        console.print(
            f"[red]study {result.name} ended {result.status.value}[/]: run it again to finish what is missing"
        )
        raise typer.Exit(1)
    console.print(f"[green]study {result.name} completed[/] ({result.trials} trials this run)")


def schema() -> None:
    """Print the JSON Schema of study YAMLs (for editor completion and validation), with the kinds
    that plugins register."""
    from archscale.plugins import prepare_process
    from archscale.study import study_schema

    prepare_process()

    print(json.dumps(study_schema(), indent=2))
