"""Benchmark of issue 5: Ray's overhead on the quickstart — wall time against the sum of the trials'
training times divided by the concurrency (goal: below 1.5×).

    .venv/bin/python bench/bench_study.py [--study studies/quickstart.yaml]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--study", default=str(Path(__file__).parents[1] / "studies" / "quickstart.yaml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "archscale.cli", "run", args.study, "--db", f"sqlite:///{db}", "--no-compare"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        command_wall = time.perf_counter() - start
        with sqlite3.connect(db) as connection:
            phases = connection.execute(
                "select case when phase = 'final' then 'final' else 'search' end, count(*), sum(device_seconds), "
                "(julianday(max(finished_at)) - julianday(min(started_at))) * 86400 "
                "from archscale_trial group by 1 order by 1 desc"
            ).fetchall()
    slots = os.cpu_count() or 1
    total_device = sum(p[2] for p in phases)
    print(f"machine: {slots} CPUs; study {args.study}")
    print("(the phases share one Tune run: final runs start while the last searches finish, so the windows overlap)")
    print(f"{'phase':<8}{'trials':>7}{'device s':>10}{'ideal s':>9}{'window s':>10}{'ratio':>8}")
    for name, trials, device, wall in phases:
        ideal = device / slots
        print(f"{name:<8}{trials:>7}{device:>10.1f}{ideal:>9.1f}{wall:>10.1f}{wall / ideal:>7.2f}x")
    ideal = total_device / slots
    print(
        f"whole command: {command_wall:.1f} s wall vs {ideal:.1f} s of training ÷ {slots} slots = "
        f"{command_wall / ideal:.2f}x (start-up, dataset generation and the database included)"
    )


if __name__ == "__main__":
    main()
