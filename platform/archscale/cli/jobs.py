"""`archscale submit`, `archscale status`, `archscale logs`: studies on a Ray cluster's Jobs API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from archscale.cli.options import NewNameOption, ResumeOption, SetOption, UpgradeDbOption

AddressOption = Annotated[
    str, typer.Option("--address", envvar="RAY_API_SERVER_ADDRESS", help="The cluster's Jobs API: http://HEAD:8265.")
]


def submit(
    study: Annotated[Path, typer.Argument(help="The study YAML.")],
    address: AddressOption,
    working_dir: Annotated[
        Path,
        typer.Option(
            help="Shipped to the cluster with the job when the study lies in it (code and data; .gitignore and "
            ".rayignore are honoured). Default: the current directory."
        ),
    ] = Path(),
    db: Annotated[
        str | None, typer.Option(help="Results database URL for the job; default: the cluster's ARCHSCALE_DB.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Stream the job's output until it ends; exit with its status.")] = False,
    set_: SetOption = None,
    new_name: NewNameOption = None,
    resume: ResumeOption = False,
    upgrade_db: UpgradeDbOption = False,
) -> None:
    """Submit a study to a Ray cluster (it runs `archscale run` there with the same study options),
    with the code it needs (the working directory, its imports, its factory's package, the plugins);
    print the job id."""
    from archscale.execution import jobs
    from archscale.execution.shipping import shipment
    from archscale.study import load_study

    loaded = load_study(study, set_ or [])  # a bad study fails here, not on the cluster
    shipped = shipment(study, loaded.spec, working_dir)
    for line in (shipped.summary(), *shipped.notes):
        print(line, file=sys.stderr)
    options = jobs.StudyOptions(overrides=tuple(set_ or ()), new_name=new_name, resume=resume, upgrade_db=upgrade_db)
    job_id = jobs.submit(address, study, shipped, options, db)
    print(job_id)
    if wait:
        for chunk in jobs.logs(address, job_id, follow=True):
            sys.stdout.write(chunk)
        state = jobs.status(address, job_id)["status"]
        print(f"job {job_id}: {state}", file=sys.stderr)
        raise typer.Exit(0 if state == "SUCCEEDED" else 1)


def status(
    job_id: Annotated[str, typer.Argument(help="The job id printed by submit.")], address: AddressOption
) -> None:
    """Show a submitted job's status."""
    from archscale.execution import jobs

    info = jobs.status(address, job_id)
    for key, value in info.items():
        print(f"{key}: {value or ''}")


def logs(
    job_id: Annotated[str, typer.Argument(help="The job id printed by submit.")],
    address: AddressOption,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming until the job ends.")] = False,
) -> None:
    """Print a submitted job's output."""
    from archscale.execution import jobs

    for chunk in jobs.logs(address, job_id, follow):
        sys.stdout.write(chunk)
        sys.stdout.flush()
