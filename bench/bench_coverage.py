"""The coverage of the report's interval methods by simulation (issue 24): every method at every n it is
used with, on normal, accuracy-like and heavily skewed data (`archscale.report.statistics.calibration`).

    .venv/bin/python bench/bench_coverage.py [--sims 10000] [--seed 0]

Prints the markdown table recorded in bench/RESULTS.md and the cells outside 95% ± 3 pp.
"""

from __future__ import annotations

import argparse
import time

from archscale.report.statistics.calibration import CALIBRATED, coverage_table, markdown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sims", type=int, default=10_000, help="simulations per cell")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = coverage_table(sims=args.sims, seed=args.seed)
    print(markdown(rows))
    off = [r for r in rows if abs(r.coverage - 0.95) > 0.03]
    print(f"\n{args.sims} simulations per cell, {time.perf_counter() - started:.0f} s")
    for r in off:
        print(
            f"outside 95% ± 3 pp: {r.method}, {r.data}, n={r.n}: {100 * r.coverage:.1f}%"
            f"{'' if r.data in CALIBRATED else ' (not required)'}"
        )


if __name__ == "__main__":
    main()
