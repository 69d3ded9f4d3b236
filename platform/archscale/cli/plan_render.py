"""`archscale plan`'s tables: per phase and arm, the searches, the totals and the devices' throughputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from archscale.execution.estimate import Estimate


def print_estimate(found: Estimate) -> None:
    """Print the plan's tables and its one-line summary on stdout."""
    from archscale.execution.estimate import DEVICES, hours_text

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    d = found.dataset
    console.print(
        f"study [bold]{found.study}[/]: {found.architectures:,} architectures, {found.seeds} seeds, "
        f"{found.search_repeats} search repeat(s); {d.name}: {d.train:,} train / {d.val:,} val / {d.test:,} test, "
        f"input {tuple(d.input_shape)} ({d.source}); forward FLOPs per sample "
        f"{found.flops_per_sample[0] / 1e6:,.1f}–{found.flops_per_sample[1] / 1e6:,.1f} M"
    )
    table = Table(title="Runs per phase and arm")
    for column in (
        "phase",
        "arm",
        "runs",
        "trial rows",
        "Ray trials",
        "epoch rows ≤",
        "expected",
        *(x.unit for x in DEVICES),
    ):
        table.add_column(column, justify="left" if column in ("phase", "arm") else "right")
    for row in [*found.rows, found.total()]:
        hours = row.device_hours()
        table.add_row(
            row.phase,
            row.arm,
            f"{row.runs:,}",
            f"{row.rows:,}",
            f"{row.ray_trials:,.0f}",
            f"{row.epoch_rows:,}",
            f"{row.epoch_rows_expected:,.0f}",
            *(hours_text(hours[x.name]) for x in DEVICES),
        )
    console.print(table)
    if found.searches:
        searches = Table(title="Searches (a shared search is filed under its first arm)")
        for column in ("label", "phase", "arms", "searches", "trials each", "epochs", "early stopping"):
            searches.add_column(column)
        for g in found.searches:
            searches.add_row(
                g.label,
                g.phase,
                ", ".join(g.arms),
                f"{g.searches:,}",
                str(g.trials),
                str(g.epochs),
                "asha" if g.early_stopping else "no",
            )
        console.print(searches)
    for device in DEVICES:
        console.print(f"{device.name}: {device.flops_per_second / 1e12:,.3g} TFLOP/s, {device.source}")
    console.print(found.line())
