"""Render a Comparison in one format, or write every format and the pictures to a folder."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from archscale.errors import UserError

if TYPE_CHECKING:
    from archscale.report.claims.comparison import Comparison


class Format(StrEnum):
    TABLE = "table"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


def render(c: Comparison, fmt: Format | str, width: int | None = None) -> str:
    """The comparison as text in `fmt` (table: plain text, `width` columns; html: a self-contained page)."""
    fmt = Format(fmt)
    if fmt is Format.TABLE:
        from archscale.report.render.table import WIDTH, render_table

        return render_table(c, width or WIDTH)
    if fmt is Format.MARKDOWN:
        from archscale.report.render.markdown import render_markdown

        return render_markdown(c)
    if fmt is Format.CSV:
        from archscale.report.render.csv import render_csv

        return render_csv(c)
    if fmt is Format.JSON:
        from archscale.report.render.json import render_json

        return render_json(c)
    from archscale.report.render.html import render_html

    return render_html(c)


def write_report(c: Comparison, directory: str | Path) -> list[Path]:
    """Write the pictures (PNG), report.html (self-contained), report.md, comparison.json and one CSV
    per frame into `directory` (created if needed); return the paths written."""
    from archscale.report.render.csv import write_csvs
    from archscale.report.render.html import render_html
    from archscale.report.render.json import render_json
    from archscale.report.render.markdown import render_markdown
    from archscale.report.render.plots import figures

    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not out.is_dir():
        raise UserError(f"--out {out} is not a folder")
    pictures = figures(c)
    written = []
    for name, data in pictures.items():
        path = out / f"{name}.png"
        path.write_bytes(data)
        written.append(path)
    documents = {
        "report.html": render_html(c, pictures),
        "report.md": render_markdown(c, {name: f"{name}.png" for name in pictures}),
        "comparison.json": render_json(c),
    }
    for name, text in documents.items():
        path = out / name
        path.write_text(text + ("\n" if not text.endswith("\n") else ""), encoding="utf-8")
        written.append(path)
    written += write_csvs(c, out)
    return written
