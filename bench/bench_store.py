"""Benchmarks of issue 4 (the results database), on SQLite and on a local PostgreSQL server:

1. 100,000 epoch rows (1,000 trials × 100 epochs) written through the Writer in batches of 1,000;
2. a 10,000-trial study (hyperparameters JSON included) loaded into the wide trials frame, and the
   100,000 epochs of (1) into the long epochs frame.

    .venv/bin/python bench/bench_store.py [--pg URL] [--repeats 3] [--quick]

Without --pg (or $ARCHSCALE_BENCH_PG_URL) a throwaway server with default (durable) settings is
started with deploy/local/postgres.sh and stopped afterwards. `--quick` runs the same code on a
small fraction of the rows, once (the suite runs it, so the benchmark cannot rot).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas  # noqa: F401  (imported up front: not part of the measured times)
from sqlalchemy import create_engine, insert, make_url, text
from sqlalchemy.pool import NullPool

from archscale.store import Writer, make_engine, read_epochs, read_trials, upgrade
from archscale.store.models import Trial
from archscale.vocabulary import Phase, RunKey

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_SH = ROOT / "deploy" / "local" / "postgres.sh"
FULL = (1_000, 100, 10_000)
"""Trials with epochs, epochs each, trials of the read study: the issue's sizes."""
QUICK = (10, 10, 100)


def write_epochs(url: str, trials_n: int, epochs: int) -> float:
    """Seconds to write trials_n × epochs epochs (add_epoch + flushes), the trial rows existing already."""
    with Writer(url) as writer:
        study = writer.ensure_study("epochs", "name: epochs\n")
        writer.upsert_architecture("bench", "2_02_002", "mlp")
        keys = [RunKey("bench", "tuned", Phase.SEARCH, 0, n) for n in range(trials_n)]
        trials = [writer.upsert_trial(study, key, "tuned") for key in keys]
        start = time.perf_counter()
        for trial in trials:
            for epoch in range(1, epochs + 1):
                writer.add_epoch(
                    trial, epoch, train_loss=1.0 / epoch, train_accuracy=0.5, val_loss=1.1 / epoch,
                    val_accuracy=0.45, test_loss=1.2 / epoch, test_accuracy=0.44, lr=0.1, seconds=0.01,
                )
        writer.flush()
        return time.perf_counter() - start


def fill_trials(url: str, count: int) -> None:
    """A study of `count` completed trials, inserted in bulk (not measured)."""
    with Writer(url) as writer:
        study = writer.ensure_study("trials", "name: trials\n")
        arch = writer.upsert_architecture("bench", "2_02_002", "mlp")
        now = datetime.now(UTC)
        rows = [
            {
                "study_id": study, "architecture_id": arch, "arm": "tuned", "kind": "tuned", "phase": "search",
                "seed": n % 5,
                "trial_number": n, "status": "completed", "val_accuracy": 0.5, "test_accuracy": 0.5,
                "hyperparameters": {"lr": 1e-3 * (1 + n % 97), "init": "kaiming", "convention": "official"},
                "budget_reached": 100, "selected_epoch": 90, "started_at": now, "finished_at": now,
                "device_kind": "cpu", "device_seconds": 12.5, "wall_seconds": 13.0, "ray_trial_id": f"t_{n:05d}",
            }
            for n in range(count)
        ]
        with writer.engine.begin() as connection:
            connection.execute(insert(Trial), rows)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def local_postgres() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="archscale-bench-pg."))
    folder.chmod(0o755)
    probe = __import__("socket").socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    try:
        subprocess.run(["bash", str(POSTGRES_SH), "start", str(folder / "data"), str(port)], check=True)
        url = subprocess.run(["bash", str(POSTGRES_SH), "url", str(folder / "data")], check=True,
                             capture_output=True, text=True).stdout.strip()
        yield url
    finally:
        subprocess.run(["bash", str(POSTGRES_SH), "stop", str(folder / "data")], check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh(backend: str, server: str, scratch: Path, index: int) -> Iterator[str]:
    """A new database at head: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch / f'bench-{index}.db'}"
    else:
        admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        name = f"bench_{index}_{os.getpid()}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if backend != "sqlite":
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


def bench(backend: str, server: str, repeats: int, scratch: Path, sizes: tuple[int, int, int] = FULL) -> None:
    trials_n, epochs, read_n = sizes
    writes, trial_reads, epoch_reads = [], [], []
    for index in range(repeats):
        with fresh(backend, server, scratch, index) as url:
            writes.append(write_epochs(url, trials_n, epochs))
            fill_trials(url, read_n)
            trial_reads.append(timed(lambda url=url: read_trials(url, "trials")))
            epoch_reads.append(timed(lambda url=url: read_epochs(url, "epochs")))
            assert len(read_trials(url, "trials")) == read_n
            assert len(read_epochs(url, "epochs")) == trials_n * epochs
    for label, times in (
        (f"write {trials_n * epochs:,} epochs (batches of 1,000)", writes),
        (f"read_trials, {read_n:,}-trial study", trial_reads),
        (f"read_epochs, {trials_n * epochs:,} epochs", epoch_reads),
    ):
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{backend:<10} {label:<42} median {statistics.median(times):6.2f} s  (runs: {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("ARCHSCALE_BENCH_PG_URL"), help="PostgreSQL server URL")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a small fraction of the rows, once")
    args = parser.parse_args()
    sizes, repeats = (QUICK, 1) if args.quick else (FULL, args.repeats)
    with tempfile.TemporaryDirectory() as scratch:
        bench("sqlite", "", repeats, Path(scratch), sizes)
        if args.pg:
            bench("postgresql", args.pg, repeats, Path(scratch), sizes)
        else:
            with local_postgres() as url:
                bench("postgresql", url, repeats, Path(scratch), sizes)


if __name__ == "__main__":
    main()
