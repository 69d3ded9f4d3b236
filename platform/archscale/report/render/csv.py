"""`--format csv`: the per-architecture frame on stdout; `write_csvs` writes every frame to a folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from archscale.report.claims.comparison import Comparison


def frames(c: Comparison) -> dict[str, pd.DataFrame]:
    """The comparison's frames by file stem (probe frames only with probes, benchmark frames only with
    imported benchmark results; a pair's differences as JSON)."""
    pairs = c.pairs.assign(differences=[json.dumps(d, default=str) for d in c.pairs["differences"]])
    out = {
        "per_architecture": c.per_architecture,
        "summary": c.summary,
        "pairs": pairs,
        "rankings": c.rankings,
        "cost": c.cost,
        "searches": c.searches,
        "cost_to_match": c.match,
        "cost_to_match_curves": c.match_curves,
    }
    if c.probe is not None and c.probe_grid is not None:
        out |= {"probe": c.probe, "probe_grid": c.probe_grid}
    if c.benchmark is not None:
        from archscale.report.render.benchmark import frames as benchmark_frames

        out |= benchmark_frames(c.benchmark)
    return out


def render_csv(c: Comparison) -> str:
    return _marked(c, c.per_architecture).to_csv(index=False, lineterminator="\n")


def write_csvs(c: Comparison, directory: Path) -> list[Path]:
    written = []
    for stem, frame in frames(c).items():
        path = directory / f"{stem}.csv"
        _marked(c, frame).to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def _marked(c: Comparison, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a first column `simulated` (all true) when the study is simulated, else as it is."""
    return frame.assign(simulated=True)[["simulated", *frame.columns]] if c.plan.simulated else frame
