"""The paper's claims next to what the platform measured: `docs/reproduction.md` is rendered from the
committed studies' results in a database, never typed by hand.

    python -m archscale.report.reproduction --db sqlite:///repro.db --figures docs/figures > docs/reproduction.md

with the figures of each study made by `archscale compare STUDY --out docs/figures/STUDY`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from archscale.errors import UserError
from archscale.report.comparison import Comparison, compare


@dataclass(frozen=True)
class Claim:
    """One number of the paper: which study measures it (CPU variant here, full scale on a GPU cluster),
    which summary statistic (its key ends in the arm or pair, `archscale.report.summary`), the paper's
    value, and how our set-up differs."""

    what: str
    study: str
    full_study: str
    key: str
    paper: str
    differs: str
    scale: float = 1.0


CLAIMS = (
    Claim(
        "MLP depth: predicted vs probed max LR, Pearson r",
        "paper-mlp-depth-cpu",
        "paper-mlp-depth",
        "probe.pearson_raw.probe",
        "0.962 (App. D)",
        "mnist1d, width 128, 12-point grid (ratio ≈ 2), 3 seeds",
    ),
    Claim(
        "MLP depth: exponent of probed LR vs depth",
        "paper-mlp-depth-cpu",
        "paper-mlp-depth",
        "probe.depth_exponent.probe",
        "−1.5 (App. D)",
        "as above; the coarse grid quantises the probed LRs",
    ),
    Claim(
        "MLP topology: predicted vs probed max LR, Pearson r",
        "paper-mlp-topology-cpu",
        "paper-mlp-topology",
        "probe.pearson_raw.probe",
        "0.838 (Fig. 2)",
        "10 sampled 5-node DAGs on mnist1d, 10-point grid, 2 seeds",
    ),
    Claim(
        "CNN kernels 3/5/7: predicted vs probed max LR, Pearson r",
        "paper-cnn-kernels-cpu",
        "paper-cnn-kernels",
        "probe.pearson_raw.probe",
        "0.856 (Fig. 3)",
        "1-D CNNs (Conv1d) on mnist1d, width 16, 3 DAGs × 3 kernels",
    ),
    Claim(
        "NAS-Bench-201: accuracy gain of principled over the fixed 0.1 (points)",
        "paper-nb201-cifar10-cpu",
        "paper-nb201-cifar10",
        "accuracy.diff.principled:fixed",
        "+0.44 (CIFAR-10, Fig. 4)",
        "digits (8×8), C=8, N=1, 3 epochs, 4 cells: a smoke test of the protocol",
        100.0,
    ),
    Claim(
        "NAS-Bench-201: Kendall τ of rankings, principled vs fixed",
        "paper-nb201-cifar10-cpu",
        "paper-nb201-cifar10",
        "rank.kendall.principled:fixed",
        "≈0.85–0.9 at K = 100% (Fig. 4, from plot)",
        "as above",
    ),
    Claim(
        "NAS-Bench-201: accuracy gain of principled over the fixed 0.1 (points)",
        "paper-nb201-cifar100-cpu",
        "paper-nb201-cifar100",
        "accuracy.diff.principled:fixed",
        "+1.24 (CIFAR-100, Fig. 4)",
        "digits smoke test on 4 other sampled cells (a CPU variant cannot hold CIFAR-100)",
        100.0,
    ),
    Claim(
        "NAS-Bench-201: accuracy gain of principled over the fixed 0.1 (points)",
        "paper-nb201-imagenet16-cpu",
        "paper-nb201-imagenet16",
        "accuracy.diff.principled:fixed",
        "+2.09 (ImageNet16-120, Fig. 4)",
        "digits smoke test on 4 other sampled cells (a CPU variant cannot hold ImageNet16-120)",
        100.0,
    ),
    Claim(
        "NAS-Bench-201: principled − tuned accuracy (points)",
        "paper-nb201-cifar10-cpu",
        "paper-nb201-cifar10",
        "accuracy.diff.principled:tuned",
        "not reported (the paper does not tune per architecture)",
        "digits smoke test; tuned = 3 Optuna trials per cell with ASHA",
        100.0,
    ),
)


def _format(value: float, low: float, high: float, n: float, scale: float) -> str:
    if math.isnan(value):
        return "—"
    interval = f" [{low * scale:+.3g}, {high * scale:+.3g}]" if not (math.isnan(low) or math.isnan(high)) else ""
    count = f" (n = {int(n)})" if not math.isnan(n) else ""
    return f"{value * scale:.3g}{interval}{count}"


def measured(comparison: Comparison, claim: Claim) -> str:
    """The claim's statistic as measured in `comparison`, with its interval and n."""
    row = comparison.row(claim.key)
    if row is None:
        return "—"
    return _format(
        *(float(row[k]) if row[k] is not None else math.nan for k in ("value", "lo", "hi", "n")), claim.scale
    )


def render(db: str, claims: tuple[Claim, ...] = CLAIMS, figures: Path | None = None) -> str:
    """The markdown page: one row per claim, the study that measured it and the command to rerun it;
    then the PNGs found in `figures/STUDY/` (paths relative to the page's folder)."""
    lines = [
        "# Reproducing the paper's claims",
        "",
        "Rendered by `python -m archscale.report.reproduction --db URL` from the results of the committed",
        "studies; every number below comes from the database. Rerun a CPU study with",
        "`archscale run studies/STUDY.yaml --db URL`; the full-scale study of each claim is for a GPU cluster",
        "(`deploy/README.md`). Intervals: 95% (Fisher z for correlations, t for slopes; for accuracy, paired on",
        "seeds: a bootstrap with at least 5 seeds, else a Student t interval). The CPU variants are small (few",
        "architectures, coarse LR grids, 2–3 seeds), so their",
        "intervals are wide; the NAS-Bench-201 CPU variant is a smoke test of the protocol on 8×8 digits, not a",
        "reproduction of the paper's 200-epoch numbers.",
        "",
        "| claim | paper | measured here | study (CPU) | full scale | what differs |",
        "|---|---|---|---|---|---|",
    ]
    cache: dict[str, Comparison | None] = {}
    for claim in claims:
        if claim.study not in cache:
            try:
                cache[claim.study] = compare(claim.study, db=db)
            except UserError:
                cache[claim.study] = None
        comparison = cache[claim.study]
        value = measured(comparison, claim) if comparison is not None else "not run"
        lines.append(
            f"| {claim.what} | {claim.paper} | {value} | `studies/{claim.study}.yaml` | "
            f"`studies/{claim.full_study}.yaml` | {claim.differs} |"
        )
    if figures is not None:
        lines += [
            "",
            "## Figures",
            "",
            "Made by `archscale compare STUDY --out docs/figures/STUDY` (also `report.html`).",
        ]
        for study in dict.fromkeys(c.study for c in claims):
            for png in sorted((figures / study).glob("*.png")):
                lines += [
                    "",
                    f"**{study}**: {png.stem.replace('_', ' ')}",
                    "",
                    f"![{study} {png.stem}]({figures.name}/{study}/{png.name})",
                ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the results database of the reproduction studies")
    parser.add_argument("--figures", type=Path, help="a folder with one subfolder of PNGs per study")
    args = parser.parse_args()
    print(render(args.db, CLAIMS, args.figures), end="")


if __name__ == "__main__":
    main()
