"""Renderers of the reproduction (renderers stage): `docs/reproduction.md` and its machine-readable twin
`docs/reproduction.json` from the claims' rows, and the comparison of a fresh run's rows with a committed
JSON (`differences`, for `archscale reproduce --check`). Nothing here computes a statistic or a verdict."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from archscale.report.claims.reproduction import Row, verdict_counts
from archscale.report.claims.verdict import RULE

SCHEMA = "archscale.reproduction/2"
CHECKED = ("measured", "lo", "hi", "n", "method", "verdict")
"""The fields `--check` compares (wall minutes and notes are not results)."""
DIGITS = 6
"""Significant digits `--check` compares numbers to (a JSON round trip keeps 17)."""


def to_json(rows: Sequence[Row]) -> str:
    """`{"schema", "rule", "verdicts", "claims": [...]}`, one object per claim."""
    body = {
        "schema": SCHEMA,
        "rule": RULE,
        "verdicts": verdict_counts(rows),
        "claims": [asdict(row) for row in rows],
    }
    return json.dumps(body, ensure_ascii=False, indent=2, default=_plain) + "\n"


def _plain(value: Any) -> Any:
    """JSON for what `json` does not know (numpy scalars)."""
    return value.item() if hasattr(value, "item") else str(value)


def _value(row: Row) -> str:
    if row.measured is None:
        return "—"
    interval = f" [{row.lo:.3g}, {row.hi:.3g}]" if row.lo is not None and row.hi is not None else " (no interval)"
    return f"{row.measured:.3g}{interval}"


def _method(row: Row) -> str:
    return f"{row.method}, n = {row.n}" if row.method else ""


def _protocol(protocol: dict[str, Any] | None) -> str:
    """The protocol in a table cell: batch, steps, epochs, grid and seeds."""
    if not protocol:
        return "—"
    parts = []
    if protocol.get("batch_size") is not None:
        parts.append(f"batch {protocol['batch_size']}")
    if protocol.get("steps_per_run") is not None:
        parts.append(f"{protocol['steps_per_run']} steps/run")
    if protocol.get("epochs"):
        parts.append(f"{protocol['epochs']} ep.")
    grid = protocol.get("grid")
    if grid:
        parts.append(f"grid {grid['low']:.3g}–{grid['high']:.3g}, {grid['points']} pts, ×{grid['ratio']:.3g}")
    probe = protocol.get("base_lr_probe")
    if probe and probe.get("grid"):
        g = probe["grid"]
        parts.append(f"base-LR probe {probe['steps_per_run']} steps/run, grid {g['points']} pts ×{g['ratio']:.3g}")
    if protocol.get("seeds"):
        parts.append(f"{len(protocol['seeds'])} seeds")
    search = protocol.get("search")
    if search and search.get("trials"):
        parts.append(f"search {search['trials']} {search['sampler']} trials × {search['repeats']}")
    dataset = protocol.get("dataset")
    if isinstance(dataset, dict):
        sizes = "/".join(str(dataset[k]) for k in ("train", "val", "test") if k in dataset)
        parts.append(f"{dataset['name']} {sizes}".strip())
    elif dataset:
        parts.append(str(dataset))
    if protocol.get("width"):
        parts.append(f"width {protocol['width']}")
    return ", ".join(parts)


def _study(row: Row) -> str:
    return f"`studies/{row.study}.yaml`" if row.study else "—"


def _full(row: Row) -> str:
    hours = f" ({row.device_hours:g} device-h)" if row.device_hours is not None else ""
    return f"`studies/{row.full_study}.yaml`{hours}"


def to_markdown(rows: Sequence[Row], figures: Path | None = None, link: Path | None = None) -> str:
    """The page: the rule, the verdict counts, one row per claim, the probed max LRs, then the PNGs found
    in `figures/STUDY/`, linked as `link/STUDY/NAME` (`link`: the figures' folder relative to the page's;
    default its name)."""
    counts = ", ".join(f"{n} {verdict}" for verdict, n in verdict_counts(rows).items())
    lines = [
        "# Reproducing the paper's claims",
        "",
        "Rendered by `archscale reproduce --db URL --out docs` from the results of the committed studies",
        "(`bash studies/reproduce-cpu.sh` runs them all, `--check` re-runs them and compares), with",
        "`reproduction.json` beside it; every number below comes from the database or, for the init's claim,",
        "from the coordinate check itself. Each protocol is read from the stored study.",
        "",
        f"**Verdict rule** (every row): {RULE}",
        "",
        f"**Verdicts:** {counts}.",
        "",
        "| id | claim | paper | measured [95% interval] | interval | verdict | protocol | study (CPU) | minutes "
        "| full scale | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        minutes = f"{row.minutes:g}" if row.minutes is not None else "—"
        lines.append(
            f"| `{row.id}` | {row.what} | {row.paper_text} | {_value(row)} | {_method(row)} | **{row.verdict}** "
            f"| {_protocol(row.protocol)} | {_study(row)} | {minutes} | {_full(row)} | {row.note} |"
        )
    lines += _probed(rows)
    if figures is not None:
        lines += _figures(rows, figures, link if link is not None else Path(figures.name))
    return "\n".join(lines) + "\n"


def _probed(rows: Sequence[Row]) -> list[str]:
    """One table per study of its probed max LRs with their within-noise ranges."""
    lines: list[str] = []
    seen: set[str | None] = set()
    for row in rows:
        if not row.probed_lrs or row.study in seen:
            continue
        seen.add(row.study)
        if not lines:
            lines += ["", "## Probed maximal learning rates", ""]
            lines += [
                "Each probed LR is the grid point with the lowest seed-mean criterion; its range is every grid LR",
                "whose criterion is within the seeds' noise of the best (a paired t interval over seeds reaching 0).",
                "A censored LR sits at its grid's edge after the grid was extended as far as allowed.",
                "",
            ]
        lines += [f"**{row.study}**", "", "| architecture | predicted | probed | within seed noise | censored |"]
        lines.append("|---|---|---|---|---|")
        for p in row.probed_lrs:
            base = " (base)" if p["is_base"] else ""
            noise = f"[{p['lo']:.3g}, {p['hi']:.3g}]" if p["lo"] is not None and p["hi"] is not None else "—"
            predicted = f"{p['predicted_lr']:.3g}" if p["predicted_lr"] is not None else "—"
            probed = f"{p['probed_lr']:.3g}" if p["probed_lr"] is not None else "—"
            lines.append(
                f"| {p['architecture']}{base} | {predicted} | {probed} | {noise} | {'yes' if p['censored'] else ''} |"
            )
        lines.append("")
    return lines


def _figures(rows: Sequence[Row], figures: Path, link: Path) -> list[str]:
    lines = [
        "",
        "## Figures",
        "",
        "Made by `archscale compare STUDY --db URL --out docs/figures/STUDY`; only the pictures are committed",
        "(the same command writes the full HTML report, CSV and JSON beside them).",
    ]
    for study in dict.fromkeys(row.study for row in rows if row.study):
        for png in sorted((figures / study).glob("*.png")):
            lines += ["", f"**{study}**: {png.stem.replace('_', ' ')}", ""]
            lines.append(f"![{study} {png.stem}]({(link / study / png.name).as_posix()})")
    return lines


def differences(rows: Sequence[Row], committed: dict[str, Any]) -> list[str]:
    """Every claim whose checked fields differ from the committed JSON's (numbers to DIGITS significant
    digits), and claims present in one but not the other, one line each."""
    fresh = {row.id: asdict(row) for row in rows}
    old = {c["id"]: c for c in committed.get("claims", [])}
    lines = [f"{cid}: not in the committed JSON" for cid in fresh if cid not in old]
    lines += [f"{cid}: committed, but not measured now" for cid in old if cid not in fresh]
    for cid, row in fresh.items():
        if cid not in old:
            continue
        changed = [
            f"{name} {old[cid].get(name)!r} → {row[name]!r}"
            for name in CHECKED
            if not _same(row[name], old[cid].get(name))
        ]
        if changed:
            lines.append(f"{cid}: {'; '.join(changed)}")
    return lines


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, int | float) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return True
        return f"{a:.{DIGITS}g}" == f"{float(b):.{DIGITS}g}"
    return bool(a == b)
