"""Benchmark scripts in their quick modes, so that none can rot unnoticed (bench_store.py had: it called
the writer with an old signature and a column that no longer exists)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench(*args: str, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=BENCH.parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.postgres
def test_the_store_benchmark_runs_on_both_backends(postgres_server):
    out = bench(str(BENCH / "bench_store.py"), "--quick", "--pg", postgres_server)
    for backend in ("sqlite", "postgresql"):
        assert f"{backend:<10} write 100 epochs" in out and f"{backend:<10} read_trials, 100-trial study" in out


def test_the_coverage_benchmark_prints_its_table():
    out = bench(str(BENCH / "bench_coverage.py"), "--sims", "30")
    assert out.startswith("| n | ") and "30 simulations per cell" in out
