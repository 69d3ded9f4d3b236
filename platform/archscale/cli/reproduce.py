"""`archscale reproduce`: the paper's claims against the committed studies' results in a database."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from archscale.cli.options import DbOption


def reproduce(
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write reproduction.md and reproduction.json here (default: the page to stdout)."),
    ] = None,
    figures: Annotated[
        Path | None, typer.Option(help="A folder with one subfolder of PNGs per study, linked from the page.")
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option(
            help="Compare with this committed reproduction.json instead of writing: list every claim whose "
            "numbers or verdict differ (exit 1 when any does)."
        ),
    ] = None,
) -> None:
    """Measure every claim of the paper in the studies of `--db` and judge it by its 95% interval: the
    reproduction page and its JSON, or with `--check` the claims that differ from a committed JSON."""
    from archscale.errors import UserError
    from archscale.report.claims.reproduction import collect
    from archscale.report.render.reproduction import differences, to_json, to_markdown
    from archscale.store import resolve_url

    url = resolve_url(db)
    committed = None
    if check is not None:
        try:
            committed = json.loads(check.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read the committed reproduction JSON {check}: {exc}") from None
    rows = collect(url)
    if committed is not None:
        changed = differences(rows, committed)
        for line in changed:
            print(line)
        print(
            f"{len(changed)} claims differ from {check}" if changed else f"every claim matches {check}", file=sys.stderr
        )
        raise typer.Exit(1 if changed else 0)
    if out is None:
        print(to_markdown(rows, figures), end="")
        return
    link = Path(os.path.relpath(figures, out)) if figures is not None else None
    out.mkdir(parents=True, exist_ok=True)
    (out / "reproduction.md").write_text(to_markdown(rows, figures, link), encoding="utf-8")
    (out / "reproduction.json").write_text(to_json(rows), encoding="utf-8")
