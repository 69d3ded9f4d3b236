"""The whole NAS-Bench-201 space through the real driver, simulated (issue 27): `fixed` and `principled`
on every cell, `tuned` on a stated sample of cells, 3 seeds, 2 simulated epochs, `archscale run
--simulate` into PostgreSQL (or SQLite). Measures wall time, runs per second through the whole path,
the driver's peak RSS, rows and database size, and the time of `archscale compare` (table and JSON),
`archscale results --format csv` and `archscale studies` (also while the study runs). With `--kill`, the
driver is killed (SIGKILL, its whole process group) once about that share of the runs is stored, and
the study is resumed: every planned run must then be stored exactly once.

    .venv/bin/python bench/bench_scale.py --pg-dir /tmp/pg --cells all --tuned 100          # full scale
    .venv/bin/python bench/bench_scale.py --pg-dir /tmp/pg --cells all --tuned 100 --kill 0.5
    .venv/bin/python bench/bench_scale.py --quick                                          # SQLite, 30 cells

`--pg-dir` starts a throwaway server there (deploy/local/postgres.sh, fsync on) and stops it at the end;
`--pg URL` uses a running one; neither: SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
STUDY = """\
name: {name}
dataset: {{name: cifar10}}
model: {{family: nb201, width: 16, cells: 5}}
architectures: [{{space: nb201, sample: {cells}, seed: 0}}]
training: {{epochs: 2, batch_size: 256}}
seeds: [777, 888, 999]
search: {{trials: 12, low: 1.0e-3, high: 1.0, early_stopping: {{grace_epochs: 1}}}}
strategies:
  fixed: {{}}
  principled: {{base_lr: 0.46}}
  tuned: {{sample: {tuned}, sample_seed: 0}}
resources: {{cpu_per_trial: 0.5}}
"""


def archscale(*args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run the command line; return its wall seconds and result (it must succeed)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "archscale.cli", *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"archscale {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start, done


class Driver:
    """`archscale run` in its own process group, its peak RSS (VmHWM) and the stored rows followed."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "archscale.cli", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        self.peak_kib = 0
        self._stderr: list[str] = []
        threading.Thread(target=lambda: self._stderr.extend(self.process.stderr or []), daemon=True).start()

    def poll_rss(self) -> None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def kill(self, ray_dir: Path) -> None:
        """SIGKILL the driver's process group, then Ray's processes that left it (found by their
        temporary folder, killed by id)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pid in _pids_using(ray_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)


def _pids_using(folder: Path) -> list[int]:
    """Processes whose command line or environment names `folder` (this run's Ray temporary folder)."""
    found = []
    needle = str(folder).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() or needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def counts(url: str, study: str) -> dict[str, Any]:
    """Rows of the study: trials (all, finished, distinct keys), epochs and their expected number."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "select count(*), count(*) filter (where t.status in ('completed', 'pruned', 'diverged')),"
                    " coalesce(sum(t.budget_reached), 0), min(t.started_at), max(t.finished_at)"
                    " from archscale_trial t join archscale_study s on s.id = t.study_id where s.name = :name"
                ),
                {"name": study},
            ).one()
            keys = connection.execute(
                text(
                    "select count(*) from (select distinct architecture_id, arm, phase, seed, trial_number, repeat"
                    " from archscale_trial t join archscale_study s on s.id = t.study_id where s.name = :name) k"
                ),
                {"name": study},
            ).scalar_one()
            epochs = connection.execute(
                text(
                    "select count(*) from archscale_epoch e join archscale_trial t on t.id = e.trial_id"
                    " join archscale_study s on s.id = t.study_id where s.name = :name"
                ),
                {"name": study},
            ).scalar_one()
    except (OperationalError, ProgrammingError):  # no schema yet while the driver starts
        return {"trials": 0, "finished": 0}
    finally:
        engine.dispose()
    return {
        "trials": row[0],
        "finished": row[1],
        "budget_epochs": int(row[2]),
        "first_start": str(row[3]),
        "last_end": str(row[4]),
        "distinct_keys": keys,
        "epochs": epochs,
    }


def database_bytes(url: str) -> int | None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        size = connection.execute(text("select pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def run_driver(
    args: list[str], env: dict[str, str], url: str, study: str, planned: int, kill_at: float | None, ray_dir: Path
) -> dict[str, Any]:
    """Run (or resume) the study; with `kill_at`, kill it once that share of `planned` rows is finished.
    Probes `archscale studies` once the first runs are stored."""
    driver = Driver(args, env)
    figures: dict[str, Any] = {"killed": False}
    while driver.process.poll() is None:
        driver.poll_rss()
        time.sleep(1.0)
        seen = counts(url, study)
        if "studies_seconds" not in figures and seen["finished"] > 0:
            figures["studies_seconds"], _ = archscale("studies", "--db", url, env=env)
            figures["studies_while_running_at_rows"] = seen["finished"]
        if kill_at is not None and seen["finished"] >= kill_at * planned:
            driver.kill(ray_dir)
            figures.update(killed=True, killed_at_rows=seen["finished"])
            break
    figures["wall_seconds"] = time.perf_counter() - driver.started
    figures["peak_rss_mib"] = driver.peak_kib / 1024
    figures["returncode"] = driver.process.returncode
    figures["stderr_tail"] = driver.stderr[-1500:]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="30 cells, tuned on 3, SQLite unless --pg")
    parser.add_argument("--cells", default="all", help="NB201 cells: all (15,625, those with a path run) or N")
    parser.add_argument("--tuned", type=int, default=100, help="cells the tuned arm searches (12 trials each)")
    parser.add_argument("--kill", type=float, default=None, help="kill the driver at this share of runs, resume")
    parser.add_argument("--pg", default=None, help="a PostgreSQL URL (a new schema-less database is best)")
    parser.add_argument("--pg-dir", default=None, help="start a throwaway PostgreSQL server in this folder")
    parser.add_argument("--pg-port", default="55433")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.quick:
        args.cells, args.tuned = "30", 3
    folder = Path(tempfile.mkdtemp(prefix="archscale-scale-"))
    name = f"scale-nb201-{args.cells}"
    study = folder / "study.yaml"
    study.write_text(STUDY.format(name=name, cells=args.cells, tuned=args.tuned))
    ray_dir = Path(tempfile.mkdtemp(prefix="asr-", dir="/tmp"))
    env = {**os.environ, "ARCHSCALE_RAY_TMPDIR": str(ray_dir)}
    url = args.pg or f"sqlite:///{folder / 'scale.db'}"
    script = str(ROOT / "deploy" / "local" / "postgres.sh")
    if args.pg_dir is not None:
        subprocess.run(["bash", script, "start", args.pg_dir, args.pg_port], check=True, capture_output=True)
        url = subprocess.run(["bash", script, "url", args.pg_dir], check=True, capture_output=True, text=True).stdout
        url = url.strip()
    try:
        figures = measure(study, name, url, env, args.kill, ray_dir)
    finally:
        if args.pg_dir is not None:
            subprocess.run(["bash", script, "stop", args.pg_dir], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(ray_dir, ignore_errors=True)
    figures.update(cells=args.cells, tuned=args.tuned, backend=url.split(":", 1)[0])
    print(json.dumps(figures, indent=2, default=str))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2, default=str) + "\n")


def measure(study: Path, name: str, url: str, env: dict[str, str], kill: float | None, ray_dir: Path) -> dict[str, Any]:
    """Plan, run (killed and resumed with `kill`), check the rows, then time the reports."""
    plan_seconds, planned = archscale("plan", str(study), "--json", env=env)
    plan = json.loads(planned.stdout)["total"]
    run = ["run", str(study), "--db", url, "--simulate", "--no-compare", "--upgrade-db"]
    first = run_driver(run, env, url, name, plan["rows"], kill, ray_dir)
    passes = [first]
    if first["killed"]:
        passes.append(run_driver([*run, "--resume"], env, url, name, plan["rows"], None, ray_dir))
    stored = counts(url, name)
    if passes[-1]["returncode"] != 0:
        raise SystemExit(f"the driver failed: {passes[-1]['stderr_tail']}")
    assert stored["trials"] == stored["distinct_keys"] == stored["finished"] == plan["rows"], (stored, plan)
    assert stored["epochs"] == stored["budget_epochs"], stored
    timings = {}
    for label, command in {
        "compare_table": ["compare", name, "--db", url],
        "compare_json": ["compare", name, "--db", url, "-f", "json"],
        "results_csv": ["results", name, "--db", url, "-f", "csv"],
        "studies": ["studies", "--db", url],
    }.items():
        seconds, done = archscale(*command, env=env)
        timings[label] = {"seconds": seconds, "bytes": len(done.stdout)}
        if label == "compare_table":
            assert done.stdout.lstrip().startswith("SIMULATED"), done.stdout[:200]
    total_wall = sum(p["wall_seconds"] for p in passes)
    return {
        "plan_seconds": plan_seconds,
        "planned_runs": plan["runs"],
        "planned_rows": plan["rows"],
        "passes": passes,
        "stored": stored,
        "runs_per_second_whole_command": plan["rows"] / total_wall,
        "database_bytes": database_bytes(url),
        "reports": timings,
    }


if __name__ == "__main__":
    main()
