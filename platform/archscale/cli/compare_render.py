"""Printing comparisons: `archscale compare` and the end of `archscale run` (all computing is in
`archscale.report`)."""

from __future__ import annotations

import sys
from pathlib import Path

from archscale.errors import UserError


def emit(study: str, db: str | None, fmt: str, out: Path | None, metric: str) -> None:
    """Compare `study`, print it in `fmt` on stdout and, with `out`, write every format and the pictures there."""
    from archscale.report import compare
    from archscale.report.frames.metrics import get_metric
    from archscale.report.render.output import Format, render, write_report
    from archscale.store import resolve_url

    try:
        chosen = Format(fmt.lower())
    except ValueError:
        raise UserError(f"unknown format '{fmt}'; known: {', '.join(f.value for f in Format)}") from None
    get_metric(metric)  # an unknown metric fails before the database is opened
    comparison = compare(study, resolve_url(db), metric)
    if chosen is Format.TABLE:
        from archscale.report.render.table import print_table

        print_table(comparison)
    else:
        text = render(comparison, chosen)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if out is not None:
        written = write_report(comparison, out)
        print(f"wrote {len(written)} files to {out} (open {out / 'report.html'})", file=sys.stderr)


def print_comparison(study_name: str, db_url: str) -> None:
    """Print the table form of a study's comparison (the end of `archscale run`). The study's results
    are already stored, so a failure here is reported in one line and never raises."""
    from archscale.report import compare
    from archscale.report.render.table import print_table

    try:
        comparison = compare(study_name, db_url)
    except UserError as exc:
        print(f"archscale: cannot compare {study_name}: {exc}", file=sys.stderr)
        return
    except Exception as exc:  # the run succeeded; the comparison can be retried with `archscale compare`
        print(
            f"archscale: comparison of {study_name} failed ({type(exc).__name__}: {exc}); "
            f"the results are stored: try `archscale compare {study_name}`",
            file=sys.stderr,
        )
        return
    print()
    print_table(comparison)
