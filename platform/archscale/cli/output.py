"""Print rows as a rich table, CSV or JSON (a list of objects) on stdout."""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from archscale.cli.options import OutputFormat

if TYPE_CHECKING:
    import pandas as pd

MISSING = "—"


def print_frame(frame: pd.DataFrame, fmt: OutputFormat, title: str | None = None) -> None:
    """Print a frame; missing values (None, NaN, NaT, NA) print as empty / null / —."""
    cells = frame.astype(object)
    rows = cells.where(cells.notna(), None).itertuples(index=False, name=None)
    print_rows([str(c) for c in frame.columns], rows, fmt, title)


def print_rows(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], fmt: OutputFormat, title: str | None = None
) -> None:
    """Print rows under `columns` (which may repeat: JSON keys then get a suffix, `id`, `id_2`)."""
    if fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_plain(v) for v in row] for row in rows)
    elif fmt is OutputFormat.JSON:
        keys = _unique(columns)
        records = [dict(zip(keys, map(_json, row), strict=True)) for row in rows]
        print(json.dumps(records, indent=2, allow_nan=False))
    else:
        _print_table(columns, rows, title)


def _print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    console = Console()
    if not console.is_terminal:  # piped: print the table at its natural width, unwrapped
        console = Console(width=100_000)
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        return value
    return _plain(value)


def _unique(columns: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    keys = []
    for column in columns:
        seen[column] = seen.get(column, 0) + 1
        keys.append(column if seen[column] == 1 else f"{column}_{seen[column]}")
    return keys
