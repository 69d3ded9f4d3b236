"""The scale path at CI size, so that scale regressions show: 500 NAS-Bench-201 cells under `fixed` and
`principled` with 3 seeds and `tuned` on a sample of 10, 2 epochs, `archscale run --simulate` through the
real plan, Ray Tune, packs, searcher, recorder and database, on SQLite and PostgreSQL. The full space is
bench/bench_scale.py's (figures in bench/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Row, create_engine, text
from sqlalchemy.pool import NullPool

STUDY = """\
name: scale-ci
dataset: {name: cifar10}
model: {family: nb201, width: 16, cells: 5}
architectures: [{space: nb201, sample: 500, seed: 0}]
training: {epochs: 2, batch_size: 256}
seeds: [0, 1, 2]
search: {trials: 4, sampler: random, early_stopping: {grace_epochs: 1}}
strategies:
  fixed: {}
  principled: {base_lr: 0.46}
  tuned: {sample: 10}
resources: {cpu_per_trial: 0.5}
"""
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
RUNS_PER_SECOND_FLOOR = 50
"""Runs per second from the first trial's start to the last one's end; measured on the 2-core
development machine: about 280 under a load average of 16 (bench/RESULTS.md)."""


def archscale(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archscale.cli", *args], capture_output=True, text=True, timeout=240, check=False
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_500_simulated_cells_store_every_run_once_at_a_rate(backend, request, tmp_path):
    url = f"sqlite:///{tmp_path / 'scale.db'}" if backend == "sqlite" else request.getfixturevalue("postgres")
    study = tmp_path / "scale.yaml"
    study.write_text(STUDY)
    plan = json.loads(archscale("plan", str(study), "--json").stdout)["total"]
    result = archscale("run", str(study), "--db", url, "--simulate", "--no-compare", "--upgrade-db")
    assert result.returncode == 0, result.stderr[-3000:]
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:

        def one(sql: str) -> Row[Any]:
            return connection.execute(text(sql)).one()

        trials, keys = one(
            "select (select count(*) from archscale_trial), count(*) from (select distinct architecture_id, arm,"
            " phase, seed, trial_number, repeat from archscale_trial) k"
        )
        epochs, budget = one(
            "select (select count(*) from archscale_epoch), (select sum(budget_reached) from archscale_trial)"
        )
        (unfinished,) = one(
            "select count(*) from archscale_trial where status not in ('completed', 'pruned', 'diverged')"
        )
        started, finished = one("select min(started_at), max(finished_at) from archscale_trial")
    engine.dispose()
    assert trials == keys == plan["rows"] == 3070
    assert epochs == budget and epochs <= plan["epoch_rows"]
    assert unfinished == 0
    seconds = (_time(finished) - _time(started)).total_seconds()
    rate = trials / max(1e-3, seconds)
    assert rate >= RUNS_PER_SECOND_FLOOR, f"{rate:.0f} runs/s"


def _time(value: datetime | str) -> datetime:
    """A timestamp as SQLite (text) or PostgreSQL (datetime) returns it."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
