"""`archscale studies`, `archscale results STUDY` and `archscale query SQL`: reading the results database."""

from __future__ import annotations

from typing import Annotated

import typer

from archscale.cli.options import DbOption, FormatOption, OutputFormat

STUDY_TABLE = ["name", "status", "simulated", "trials", "completed", "created_at", "finished_at"]
TRIAL_TABLE = [
    "architecture",
    "arm",
    "kind",
    "phase",
    "repeat",
    "seed",
    "trial_number",
    "status",
    "hp_lr",
    "budget_reached",
    "selected_epoch",
    "val_accuracy",
    "test_accuracy",
    "device_seconds",
]


def studies(db: DbOption = None, fmt: FormatOption = OutputFormat.TABLE) -> None:
    """List the studies in the results database, with their trial counts."""
    from archscale.cli.output import print_frame
    from archscale.store import read_studies, resolve_url

    frame = read_studies(resolve_url(db))
    print_frame(frame[STUDY_TABLE] if fmt is OutputFormat.TABLE else frame, fmt, title="Studies")


def results(
    study: Annotated[str, typer.Argument(help="The study's name (see `archscale studies`).")],
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """One row per trial of a study; csv and json carry every column (`simulated` among them), hyperparameters
    as hp_*; the table's title says when the study is simulated."""
    from archscale.cli.output import print_frame
    from archscale.store import read_trials, resolve_url

    frame = read_trials(resolve_url(db), study)
    simulated = " — SIMULATED: synthetic metrics, not results of training" if frame["simulated"].any() else ""
    if fmt is OutputFormat.TABLE:
        frame = frame[[c for c in TRIAL_TABLE if c in frame.columns]]
    print_frame(frame, fmt, title=f"Trials of {study}{simulated}")


def query(
    sql: Annotated[str, typer.Argument(help="One SQL statement; the view archscale_results has a row per trial.")],
    db: DbOption = None,
    fmt: FormatOption = OutputFormat.TABLE,
) -> None:
    """Run one SQL statement read-only: anything that would change the database fails (exit 2)."""
    from archscale.cli.output import print_rows
    from archscale.store import resolve_url, run_query

    result = run_query(resolve_url(db), sql)
    print_rows(result.columns, result.rows, fmt)
