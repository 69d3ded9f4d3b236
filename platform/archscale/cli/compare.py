"""`archscale compare STUDY`: the study's arms, pair by pair: accuracy, learning rates, search cost, rankings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archscale.cli.options import DbOption

FORMATS = ("table", "markdown", "csv", "json", "html")
METRICS = ("test_acc", "val_acc", "test_loss", "val_loss")


def compare(
    study: Annotated[str, typer.Argument(help="The study's name (see `archscale studies`).")],
    db: DbOption = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table (terminal), markdown, csv (per-architecture rows), json (stable, for "
            "scripts) or html (a self-contained page).",
        ),
    ] = "table",
    out: Annotated[
        Path | None,
        typer.Option(help="Also write the pictures (PNG), report.html, report.md, comparison.json and CSVs here."),
    ] = None,
    metric: Annotated[str, typer.Option(help=f"What to compare and rank by: {', '.join(METRICS)}.")] = "test_acc",
) -> None:
    """Compare a study's arms pair by pair, per architecture and in total: accuracy (paired, with honest
    intervals), LRs, search cost and cost to match, rankings, and whether the pairs differ in more than the LR."""
    from archscale.cli.compare_render import emit

    emit(study, db, fmt, out, metric)
