"""`--format markdown`: the whole comparison as GitHub-flavoured markdown (notes, key results,
per-architecture table, probe, summary statistics, rankings (and against an imported benchmark), cost
ledger, search budgets, searches)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archscale.report.render import display

if TYPE_CHECKING:
    import pandas as pd

    from archscale.report.claims.comparison import Comparison


def render_markdown(c: Comparison, images: dict[str, str] | None = None) -> str:
    """Markdown text; `images` (name → relative path) adds the pictures written beside it."""
    out = [f"# Comparison: {c.study}{' (simulated)' if c.plan.simulated else ''}", "", display.heading(c), ""]
    if c.notes:
        out += ["**Notes**", "", *[f"- {note}" for note in c.notes], ""]
    lines = display.summary_lines(c)
    if lines:
        out += ["## Key results", ""]
        heading = ""
        for head, text in lines:
            heading = head or heading
            out.append(f"- **{heading}**: {text}")
        out.append("")
    for name, path in (images or {}).items():
        out += [f"![{name.replace('_', ' ')}]({path})", ""]
    if len(c.per_architecture):
        out += ["## Per architecture", "", table(display.architecture_table(c)), ""]
    probe = display.probe_table(c)
    if probe is not None:
        out += ["## Probe: maximal learning rates", "", table(probe), ""]
    if len(c.summary):
        out += ["## Summary statistics", "", table(display.summary_table(c)), ""]
    if len(c.rankings):
        out += ["## Rank agreement", "", table(display.rankings_table(c)), ""]
    if c.benchmark is not None:
        from archscale.report.render.benchmark import rankings_table

        title = f"## Rank agreement with {c.benchmark.benchmark} per top K% (Kendall τ, Spearman ρ)"
        out += [title, "", table(rankings_table(c.benchmark)), ""]
    if len(c.cost):
        out += ["## Cost", "", table(display.cost_table(c)), ""]
    if len(c.searches):
        out += ["## Search budgets", "", table(display.budgets_table(c)), ""]
        out += ["## Searches", "", table(display.searches_table(c)), ""]
    return "\n".join(out)


def table(frame: pd.DataFrame) -> str:
    """A pipe table; `|` in cells escaped, numbers right-aligned by their header."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])
