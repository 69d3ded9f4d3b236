"""`--format table` (and the end of `archscale run`): a compact terminal view that fits 80–120
columns: one row per architecture (label, S, LR and score mean ± std per arm, the outcome per pair;
the first `MAX_ROWS` of a larger study),
then the key summary lines (search budgets included) and the notes (like-with-like lines included)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from archscale.report.render import display

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from archscale.report.claims.comparison import Comparison

WIDTH = 120
NARROW = 100
PROBE_HEADERS = {
    "depth L": "depth\nL",
    "predicted max LR": "predicted\nmax LR",
    "probed max LR": "probed\nmax LR",
    "probed ÷ predicted": "probed ÷\npredicted",
    "criterion": "crite-\nrion",
}
MAX_ROWS = 200
"""Architectures the terminal table shows (in the study's order); the other formats have every row."""
RIGHT = ("S", "LR", "test", "val", "paths", "depth", "predicted", "probed", "crite", "runs")


def print_table(c: Comparison, console: Console | None = None) -> None:
    """Print the comparison to `console` (default: stdout, at most 120 columns wide)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal or console.width > WIDTH:
            console = Console(highlight=False, width=WIDTH)
    console.print(Text(display.heading(c), style="bold"))
    narrow = console.width < NARROW
    if len(c.per_architecture) and c.arms:
        rows = display.architecture_table(c, full=False, narrow=narrow)
        console.print(_table(rows.head(MAX_ROWS)))
        if len(rows) > MAX_ROWS:
            console.print(
                f"… and {len(rows) - MAX_ROWS:,} more architectures (every row: --format csv, json, html or --out)"
            )
    probe = display.probe_table(c)
    if probe is not None:
        probe = probe.drop(columns=["paths"]).rename(columns=PROBE_HEADERS)
        probe["runs"] = probe["runs"].str.replace(" diverged)", " div.)")
        console.print()
        console.print(_table(probe, title="probe: maximal LR (lowest training loss)"))
    console.print()
    lines = Table.grid(padding=(0, 2))
    lines.add_column(style="bold", no_wrap=True)
    lines.add_column()
    for head, text in display.summary_lines(c):
        lines.add_row(head, text)
    for note in c.notes:
        lines.add_row(Text("note", style="yellow"), Text(note, style="yellow"))
    console.print(lines)


def render_table(c: Comparison, width: int = WIDTH) -> str:
    """The table form as plain text (no colour), `width` columns wide at most."""
    from rich.console import Console

    buffer = io.StringIO()
    print_table(c, Console(file=buffer, width=width, color_system=None, highlight=False))
    return buffer.getvalue()


def _table(frame: pd.DataFrame, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), title=title, title_justify="left", show_edge=False)
    for column in frame.columns:
        right = column != "architecture" and column.split(" ")[0].startswith(RIGHT)
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    return table
