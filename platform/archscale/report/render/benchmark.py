"""A comparison against a benchmark's results in words and tables (renderers stage): the summary lines,
the rankings table, the JSON object and the CSV frames of a `BenchmarkComparison`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.statistics.benchmark import TOP_PERCENTS

if TYPE_CHECKING:
    from archscale.report.statistics.benchmark import BenchmarkComparison

SHOWN_TOP = (100, 50, 10, 1)


def summary_lines(b: BenchmarkComparison) -> list[tuple[str, str]]:
    """(heading, text) lines for the terminal and the top of the reports."""

    def pp(v: float) -> str:
        return f"{v * 100:+.2f}" if math.isfinite(v) else "—"

    def num(v: float) -> str:
        return f"{v:.2f}" if math.isfinite(v) else "—"

    name = f"{b.benchmark} ({b.dataset}, {b.epochs} epochs, seeds {', '.join(map(str, b.seeds))})"
    parts = []
    for r in b.accuracy.to_dict("records"):
        ci = f" [{pp(r['lo'])}, {pp(r['hi'])}]" if math.isfinite(r["lo"]) else ""
        parts.append(f"{r['arm']} {pp(r['diff'])} pp{ci} ({r['method']}, n={r['n']} cells)")
    lines = [("benchmark", f"accuracy − {name}: " + "; ".join(parts))]
    at = "/".join(f"{p}" for p in SHOWN_TOP)
    for arm, group in b.rankings.groupby("arm", sort=False):
        taus = group.set_index("top_percent")["kendall_tau"]
        lines.append(
            ("", f"Kendall τ {arm} vs {b.benchmark}, top {at}%: " + " / ".join(num(taus[p]) for p in SHOWN_TOP))
        )
    noise = b.noise()
    if len(noise):
        taus = noise.set_index("top_percent")["kendall_tau"]
        lines.append(
            ("", f"noise floor ({b.benchmark} seed vs seed), top {at}%: " + " / ".join(num(taus[p]) for p in SHOWN_TOP))
        )
    for r in b.gap_summary.to_dict("records"):
        lines.append(
            (
                "",
                f"pairwise gaps ({r['arm']}, {r['pairs']} pairs): median |gap| {b.benchmark} "
                f"{num(r['benchmark_median_gap'] * 100)} pp, {r['arm']} {num(r['arm_median_gap'] * 100)} pp; "
                f"order flipped in {r['flipped']:.0%}"
                if r["pairs"]
                else f"pairwise gaps ({r['arm']}): no pairs",
            )
        )
    return lines


def rankings_table(b: BenchmarkComparison) -> pd.DataFrame:
    """top K% | n | τ and ρ per arm | the seed-vs-seed τ (noise floor)."""
    out: dict[str, list[str]] = {"top K%": [f"{p}%" for p in TOP_PERCENTS]}
    for arm, group in b.rankings.groupby("arm", sort=False):
        g = group.set_index("top_percent")
        out["n"] = [str(g.loc[p, "n"]) for p in TOP_PERCENTS]
        out[f"τ {arm}"] = [_fmt(g.loc[p, "kendall_tau"]) for p in TOP_PERCENTS]
        out[f"ρ {arm}"] = [_fmt(g.loc[p, "spearman_rho"]) for p in TOP_PERCENTS]
    noise = b.noise().set_index("top_percent") if not b.noise_floor.empty else None
    if noise is not None:
        out[f"τ {b.benchmark} seed vs seed"] = [_fmt(noise.loc[p, "kendall_tau"]) for p in TOP_PERCENTS]
    return pd.DataFrame(out)


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float | int) and math.isfinite(value) else "—"


def document(b: BenchmarkComparison, records: Any) -> dict[str, Any]:
    """The JSON object of `render_json` (`records` turns a frame into JSON rows)."""
    return {
        "benchmark": b.benchmark,
        "dataset": b.dataset,
        "epochs": b.epochs,
        "seeds": list(b.seeds),
        "sources": list(b.sources),
        "cells": records(b.cells),
        "accuracy": records(b.accuracy),
        "rankings": records(b.rankings),
        "noise_floor": records(b.noise_floor),
        "gap_summary": records(b.gap_summary),
        "gaps": records(b.gaps),
    }


def frames(b: BenchmarkComparison) -> dict[str, pd.DataFrame]:
    """The frames written as CSVs, by file stem."""
    return {
        "benchmark_cells": b.cells,
        "benchmark_accuracy": b.accuracy,
        "benchmark_rankings": b.rankings,
        "benchmark_noise_floor": b.noise_floor,
        "benchmark_gap_summary": b.gap_summary,
        "benchmark_gaps": b.gaps,
    }
