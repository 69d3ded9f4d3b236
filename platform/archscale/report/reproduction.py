"""The paper's claims next to what the platform measured: `docs/reproduction.md` and its machine-readable
twin `docs/reproduction.json` are rendered from the committed studies' results in a database, never typed
by hand.

    python -m archscale.report.reproduction --db sqlite:///repro.db --figures docs/figures --out docs

writes `docs/reproduction.md` and `docs/reproduction.json`; without `--out` the page goes to stdout. The
figures of each study are made by `archscale compare STUDY --out docs/figures/STUDY`.

Each claim has a stable id and reads one summary statistic (`archscale.report.summary`) of one CPU study.
The JSON is `{"claims": [...]}`, one object per claim: `id`, `what`, `paper` (a number, or null where the
paper gives none), `paper_text`, `measured`, `lo`, `hi`, `n`, `method` (of the interval), `unit`,
`measured_without_base` (correlations: the same statistic without the base network, whose prediction is
its own probe), `architectures`, `seeds`, `study`, `full_study`, `minutes` (the study's wall time from
creation to finish), `verdict` (`VERDICTS`), `rule` (the judgement rule, in words) and `note`. A study
missing from the database has `measured` null and note "not run".

The verdict is computed, never typed (`AtLeast`, `Meets`, `Positive`): a correlation reproduces when it
reaches the adequacy level of issue 13 for its kind of experiment (chains 0.95, DAGs 0.7), or the paper's
own value where that is lower; the NAS-Bench-201 rank agreement at Kendall τ ≥ 0.85 (the low end of the
paper's plotted ≈0.85–0.9); the depth exponent when its interval meets issue 13's band [−2.1, −1.5];
an accuracy gain when it is positive with an interval that excludes 0 (an interval containing 0 is
inconclusive; a negative gain that excludes 0 does not reproduce).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from archscale.errors import UserError
from archscale.report.comparison import Comparison, compare

if TYPE_CHECKING:
    from collections.abc import Sequence

REPRODUCES, FAILS, INCONCLUSIVE, NOT_RUN, NO_VALUE = (
    "reproduces",
    "does not reproduce",
    "inconclusive",
    "not run",
    "no value",
)
VERDICTS = (REPRODUCES, FAILS, INCONCLUSIVE, NOT_RUN, NO_VALUE)

CHAIN_R_LEVEL = 0.95
"""Issue 13's adequacy level for predicted vs probed LR on chains (MLP depth)."""
DAG_R_LEVEL = 0.7
"""Issue 13's adequacy level for predicted vs probed LR on DAGs (topology; also used for CNN kernels)."""
DEPTH_EXPONENT_BAND = (-2.1, -1.5)
"""Issue 13's adequacy band for the exponent of probed LR vs depth: its interval must meet it (paper: −1.5)."""
RANK_TAU_LEVEL = 0.85
"""The low end of the paper's Kendall τ at K = 100% (Fig. 4 middle, ≈0.85–0.9 read from the plot)."""


class Rule(Protocol):
    """How a measured value is judged against the paper."""

    def text(self) -> str: ...

    def judge(self, value: float, lo: float, hi: float) -> tuple[str, str]:
        """(verdict, the reason in numbers)."""
        ...


@dataclass(frozen=True)
class AtLeast:
    """Reproduces when the point estimate `name` reaches `level`."""

    level: float
    name: str = "r"

    def text(self) -> str:
        return f"{self.name} ≥ {self.level:g}"

    def judge(self, value: float, lo: float, hi: float) -> tuple[str, str]:
        if value >= self.level:
            return REPRODUCES, f"{self.name} = {value:.3g} ≥ {self.level:g}"
        return FAILS, f"{self.name} = {value:.3g} < {self.level:g}"


@dataclass(frozen=True)
class Meets:
    """Reproduces when the interval (the point where there is none) meets [low, high]."""

    low: float
    high: float

    def text(self) -> str:
        return f"interval meets [{self.low:g}, {self.high:g}]"

    def judge(self, value: float, lo: float, hi: float) -> tuple[str, str]:
        lo, hi = (value, value) if math.isnan(lo) or math.isnan(hi) else (lo, hi)
        shown = f"[{lo:.3g}, {hi:.3g}]" if lo != hi else f"{value:.3g} (no interval)"
        if lo <= self.high and hi >= self.low:
            return REPRODUCES, f"{shown} meets [{self.low:g}, {self.high:g}]"
        side = "above" if lo > self.high else "below"
        return FAILS, f"{shown} lies {side} [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Positive:
    """A gain: reproduces when positive with an interval above 0, fails when negative with an interval
    below 0, else (an interval containing 0, or none) inconclusive."""

    def text(self) -> str:
        return "gain > 0 with an interval excluding 0"

    def judge(self, value: float, lo: float, hi: float) -> tuple[str, str]:
        sign = "positive" if value > 0 else "negative" if value < 0 else "zero"
        if math.isnan(lo) or math.isnan(hi):
            return INCONCLUSIVE, f"{sign}, no interval"
        if lo > 0:
            return REPRODUCES, "positive, the interval excludes 0"
        if hi < 0:
            return FAILS, "negative, the interval excludes 0"
        return INCONCLUSIVE, f"{sign}, but the interval contains 0"


@dataclass(frozen=True)
class Claim:
    """One number of the paper: its stable id, which study measures it (CPU variant here, full scale on a
    GPU cluster), which summary statistic (its key ends in the arm or pair, `archscale.report.summary`),
    the paper's value (None where the paper gives no number) and words, the rule that judges it, and how
    our set-up differs. `scale` multiplies the statistic (100: fractions shown in points)."""

    id: str
    what: str
    study: str
    full_study: str
    key: str
    paper: float | None
    paper_text: str
    rule: Rule
    differs: str
    unit: str = ""
    scale: float = 1.0

    @property
    def is_correlation(self) -> bool:
        return self.key.startswith("probe.pearson_raw.")


@dataclass(frozen=True)
class Row:
    """A claim as measured: one object of the JSON's `claims`, one row of the page."""

    id: str
    what: str
    paper: float | None
    paper_text: str
    measured: float | None
    lo: float | None
    hi: float | None
    n: int | None
    method: str | None
    unit: str
    measured_without_base: float | None
    architectures: int | None
    seeds: list[int]
    study: str
    full_study: str
    minutes: float | None
    verdict: str
    rule: str
    note: str


_PROBE_DIFFERS = "digits, width {width}, one epoch of plain SGD, a 57-point grid of ratio 2^(1/4), 3 seeds{extra}"
_NB201_DIFFERS = (
    "a proxy: 8 cells (C=8, N=1) on 8×8 digits, 12 epochs, 5 seeds, the benchmark's optimizer and schedule; "
    "fixed = LR 0.1 with PyTorch's default init, trained as the benchmark trains"
)
_GELU = "; GELU with the ReLU gain, as the authors' code"

CLAIMS = (
    Claim(
        "mlp-depth-r",
        "MLP depth: predicted vs probed max LR, Pearson r",
        "paper-mlp-depth-cpu",
        "paper-mlp-depth",
        "probe.pearson_raw.probe",
        0.962,
        "r = 0.962 (App. D, CIFAR-10)",
        AtLeast(CHAIN_R_LEVEL),
        _PROBE_DIFFERS.format(width=256, extra="; chains L = 3..10"),
        "r",
    ),
    Claim(
        "mlp-depth-exponent",
        "MLP depth: exponent of probed max LR vs depth L",
        "paper-mlp-depth-cpu",
        "paper-mlp-depth",
        "probe.depth_exponent.probe",
        -1.5,
        "−1.5 (App. D)",
        Meets(*DEPTH_EXPONENT_BAND),
        _PROBE_DIFFERS.format(width=256, extra="; chains L = 3..10; a log-log fit, the base included"),
        "exponent",
    ),
    Claim(
        "mlp-topology-r",
        "MLP topology: predicted vs probed max LR, Pearson r",
        "paper-mlp-topology-cpu",
        "paper-mlp-topology",
        "probe.pearson_raw.probe",
        0.838,
        "r = 0.838 (Fig. 2, CIFAR-10)",
        AtLeast(min(DAG_R_LEVEL, 0.838)),
        _PROBE_DIFFERS.format(width=256, extra="; 20 sampled five-node DAGs"),
        "r",
    ),
    Claim(
        "cnn-kernels-r",
        "CNN kernel sizes 3/5/7: predicted vs probed max LR, Pearson r",
        "paper-cnn-kernels-cpu",
        "paper-cnn-kernels",
        "probe.pearson_raw.probe",
        0.856,
        "r = 0.856 (Fig. 3, CIFAR-10)",
        AtLeast(min(DAG_R_LEVEL, 0.856)),
        _PROBE_DIFFERS.format(width=16, extra="; 3 DAGs × kernels 3/5/7"),
        "r",
    ),
    Claim(
        "nb201-cifar10-gain-vs-fixed",
        "NAS-Bench-201: accuracy of principled − fixed 0.1",
        "paper-nb201-proxy-cpu",
        "paper-nb201-cifar10",
        "accuracy.diff.principled:fixed",
        0.44,
        "+0.44 points (Fig. 4, CIFAR-10, 200 epochs)",
        Positive(),
        _NB201_DIFFERS,
        "points",
        100.0,
    ),
    Claim(
        "nb201-rank-tau-vs-fixed",
        "NAS-Bench-201: Kendall τ of the cells' rankings, principled vs fixed 0.1",
        "paper-nb201-proxy-cpu",
        "paper-nb201-cifar10",
        "rank.kendall.principled:fixed",
        None,
        "≈0.85–0.9 at K = 100% (Fig. 4 middle, from plot; ours vs the benchmark's database)",
        AtLeast(RANK_TAU_LEVEL, "τ"),
        _NB201_DIFFERS + "; the fixed arm stands in for the benchmark's database; a point estimate",
        "τ",
    ),
    Claim(
        "gelu-mlp-depth-r",
        "GELU MLP depth: predicted vs probed max LR, Pearson r",
        "paper-gelu-mlp-depth-cpu",
        "paper-gelu-mlp-depth",
        "probe.pearson_raw.probe",
        0.920,
        "r = 0.920 (Fig. 7, App. E.2)",
        AtLeast(min(CHAIN_R_LEVEL, 0.920)),
        _PROBE_DIFFERS.format(width=256, extra="; chains L = 3..10" + _GELU),
        "r",
    ),
    Claim(
        "gelu-mlp-topology-r",
        "GELU MLP topology: predicted vs probed max LR, Pearson r",
        "paper-gelu-mlp-topology-cpu",
        "paper-gelu-mlp-topology",
        "probe.pearson_raw.probe",
        0.680,
        "r = 0.680 (Fig. 7, App. E.2)",
        AtLeast(min(DAG_R_LEVEL, 0.680)),
        _PROBE_DIFFERS.format(width=256, extra="; 20 sampled five-node DAGs" + _GELU),
        "r",
    ),
    Claim(
        "gelu-cnn-r",
        "GELU CNN kernel sizes 3/5/7: predicted vs probed max LR, Pearson r",
        "paper-gelu-cnn-cpu",
        "paper-gelu-cnn",
        "probe.pearson_raw.probe",
        0.949,
        "r = 0.949 (Fig. 7, App. E.2)",
        AtLeast(min(DAG_R_LEVEL, 0.949)),
        _PROBE_DIFFERS.format(width=16, extra="; 3 DAGs × kernels 3/5/7" + _GELU),
        "r",
    ),
    Claim(
        "mup-vs-principled-nb201",
        "NAS-Bench-201: accuracy of principled − μP (MuSGD, LR 0.1)",
        "paper-nb201-proxy-cpu",
        "paper-nb201-mup",
        "accuracy.diff.principled:mup",
        None,
        "principled better on every dataset (Fig. 8, App. E.3; scatter plots only, no number)",
        Positive(),
        _NB201_DIFFERS + "; μP's base width C=16 (the benchmark's)",
        "points",
        100.0,
    ),
)


def _number(value: Any) -> float | None:
    """A finite float, else None (NaN and missing values become JSON null)."""
    if value is None or pd.isna(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _stat(comparison: Comparison, key: str) -> dict[str, Any] | None:
    """The summary row `key` when its value is finite."""
    row = comparison.row(key)
    return row if row is not None and _number(row["value"]) is not None else None


def _interval(value: float, lo: float | None, hi: float | None, n: int | None) -> str:
    interval = f" [{lo:.3g}, {hi:.3g}]" if lo is not None and hi is not None else ""
    count = f" (n = {n})" if n is not None else ""
    return f"{value:.3g}{interval}{count}"


def study_minutes(studies: pd.DataFrame, name: str) -> float | None:
    """The stored study's wall minutes from creation to finish (None while it has not finished)."""
    row = studies[studies["name"] == name]
    if row.empty:
        return None
    created, finished = pd.to_datetime(row["created_at"].iloc[0]), pd.to_datetime(row["finished_at"].iloc[0])
    if pd.isna(created) or pd.isna(finished):
        return None
    return round((finished - created).total_seconds() / 60, 1)


def _architectures(comparison: Comparison, claim: Claim) -> int:
    """How many architectures the statistic rests on: the arm's probed networks (the base included),
    else the compared architectures."""
    if claim.key.startswith("probe.") and comparison.probe is not None:
        arm = claim.key.rsplit(".", 1)[1]
        return int(comparison.probe.loc[comparison.probe["arm"] == arm, "graph_hash"].nunique())
    return len(comparison.per_architecture)


def _diagnostics(comparison: Comparison, claim: Claim) -> list[str]:
    """What in the data bears on the verdict: probed LRs at a grid edge, diverged final runs, and the
    range of each compared arm's learning rates."""
    arms = claim.key.rsplit(".", 1)[1].split(":")
    lines = []
    if claim.key.startswith("probe.") and comparison.probe is not None:
        frame = comparison.probe[comparison.probe["arm"] == arms[0]]
        edge = int(frame["at_grid_edge"].isin(["low", "high"]).sum())
        if edge:
            lines.append(f"{edge} of {len(frame)} probed LRs sit at a grid edge")
    for arm in arms:
        diverged = _number(comparison.stat(f"accuracy.diverged.{arm}"))
        if diverged:
            lines.append(f"{diverged:.0%} of {arm}'s final runs diverged")
    if claim.key.startswith("accuracy.") and all(f"{arm}_lr" in comparison.per_architecture for arm in arms):
        lrs = [
            f"{arm} {float(comparison.per_architecture[f'{arm}_lr'].min()):.3g}–"
            f"{float(comparison.per_architecture[f'{arm}_lr'].max()):.3g}"
            for arm in arms
        ]
        lines.append(f"learning rates: {', '.join(lrs)}")
    return lines


def measure(comparison: Comparison | None, claim: Claim, minutes: float | None = None) -> Row:
    """The claim as measured in `comparison` (None: the study is not in the database), judged by its rule."""
    row = Row(
        id=claim.id,
        what=claim.what,
        paper=claim.paper,
        paper_text=claim.paper_text,
        measured=None,
        lo=None,
        hi=None,
        n=None,
        method=None,
        unit=claim.unit,
        measured_without_base=None,
        architectures=None,
        seeds=[],
        study=claim.study,
        full_study=claim.full_study,
        minutes=None,
        verdict=NOT_RUN,
        rule=claim.rule.text(),
        note=NOT_RUN,
    )
    if comparison is None:
        return row
    row = replace(
        row,
        architectures=_architectures(comparison, claim),
        seeds=[int(s) for s in comparison.plan.seeds],
        minutes=minutes,
    )
    stat = _stat(comparison, claim.key)
    if stat is None:
        return replace(row, verdict=NO_VALUE, note=f"{NO_VALUE}: the study has no {claim.key}; set-up: {claim.differs}")
    value = float(stat["value"]) * claim.scale
    lo, hi = (None if _number(stat[k]) is None else float(stat[k]) * claim.scale for k in ("lo", "hi"))
    verdict, reason = claim.rule.judge(value, math.nan if lo is None else lo, math.nan if hi is None else hi)
    parts = [f"{verdict} ({reason})"]
    without = (
        _stat(comparison, claim.key.replace(".pearson_raw.", ".pearson_raw_without_base."))
        if claim.is_correlation
        else None
    )
    if without is not None:
        shown = _interval(float(without["value"]), _number(without["lo"]), _number(without["hi"]), int(without["n"]))
        parts.append(f"without the base network r = {shown}")
    quirk = (
        _stat(comparison, claim.key.replace(".pearson_raw.", ".pearson_raw_without_quirk."))
        if claim.is_correlation
        else None
    )
    if quirk is not None:
        shown = _interval(float(quirk["value"]), _number(quirk["lo"]), _number(quirk["hi"]), int(quirk["n"]))
        parts.append(f"without the DAGs whose S the official zero-block quirk sets r = {shown}")
    parts += _diagnostics(comparison, claim)
    parts.append(f"set-up: {claim.differs}")
    return replace(
        row,
        measured=value,
        lo=lo,
        hi=hi,
        n=int(stat["n"]),
        method=str(stat["method"]) or None,
        measured_without_base=float(without["value"]) if without is not None else None,
        verdict=verdict,
        note="; ".join(parts),
    )


def collect(db: str, claims: Sequence[Claim] = CLAIMS) -> list[Row]:
    """Every claim measured in the database `db`, one comparison per study."""
    from archscale.store import read_studies

    studies = read_studies(db)
    cache: dict[str, Comparison | None] = {}
    rows = []
    for claim in claims:
        if claim.study not in cache:
            try:
                cache[claim.study] = compare(claim.study, db=db)
            except UserError:
                cache[claim.study] = None
        rows.append(measure(cache[claim.study], claim, study_minutes(studies, claim.study)))
    return rows


def to_json(rows: Sequence[Row]) -> str:
    """The machine-readable twin: `{"claims": [...]}`."""
    return json.dumps({"claims": [asdict(row) for row in rows]}, ensure_ascii=False, indent=2) + "\n"


def to_markdown(rows: Sequence[Row], figures: Path | None = None, link: Path | None = None) -> str:
    """The page: one row per claim; then the PNGs found in `figures/STUDY/`, linked as `link/STUDY/NAME`
    (`link`: the figures' folder relative to the page's; default its name)."""
    lines = [
        "# Reproducing the paper's claims",
        "",
        "Rendered by `python -m archscale.report.reproduction --db URL --out docs` from the results of the",
        "committed studies, with `reproduction.json` beside it; every number below comes from the database.",
        "Rerun a CPU study with `archscale run studies/STUDY.yaml --db URL`; the full-scale study of each",
        "claim is for a GPU cluster (`deploy/README.md`). Intervals: 95% (Fisher z for correlations, t for",
        "slopes; for accuracy, paired on seeds: a bootstrap with at least 5 seeds, else a Student t interval).",
        "The verdict is computed by the rule shown: correlations at least the adequacy level of issue 13",
        f"(chains {CHAIN_R_LEVEL:g}, DAGs {DAG_R_LEVEL:g}, or the paper's value where lower), Kendall τ ≥ "
        f"{RANK_TAU_LEVEL:g} (the low end of the paper's plotted band), the depth exponent's interval meeting",
        "[−2.1, −1.5], and accuracy gains positive with an interval excluding 0 (containing 0: inconclusive).",
        "",
        "| id | claim | paper | measured here | rule | study (CPU) | minutes | full scale | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = _interval(row.measured, row.lo, row.hi, row.n) if row.measured is not None else row.verdict
        minutes = f"{row.minutes:g}" if row.minutes is not None else "—"
        lines.append(
            f"| `{row.id}` | {row.what} | {row.paper_text} | {value} | {row.rule} | `studies/{row.study}.yaml` | "
            f"{minutes} | `studies/{row.full_study}.yaml` | {row.note} |"
        )
    if figures is not None:
        link = link if link is not None else Path(figures.name)
        lines += [
            "",
            "## Figures",
            "",
            "Made by `archscale compare STUDY --out docs/figures/STUDY` (also `report.html`).",
        ]
        for study in dict.fromkeys(row.study for row in rows):
            for png in sorted((figures / study).glob("*.png")):
                lines += [
                    "",
                    f"**{study}**: {png.stem.replace('_', ' ')}",
                    "",
                    f"![{study} {png.stem}]({(link / study / png.name).as_posix()})",
                ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the results database of the reproduction studies")
    parser.add_argument("--figures", type=Path, help="a folder with one subfolder of PNGs per study")
    parser.add_argument(
        "--out", type=Path, help="write reproduction.md and reproduction.json here (default: the page to stdout)"
    )
    args = parser.parse_args()
    rows = collect(args.db)
    if args.out is None:
        print(to_markdown(rows, args.figures), end="")
        return
    link = Path(os.path.relpath(args.figures, args.out)) if args.figures is not None else None
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reproduction.md").write_text(to_markdown(rows, args.figures, link), encoding="utf-8")
    (args.out / "reproduction.json").write_text(to_json(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
