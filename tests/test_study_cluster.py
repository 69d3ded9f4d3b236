"""A study submitted with `archscale submit` to a real two-node Ray cluster (token auth on), its
results in the test PostgreSQL, its trials run on both nodes."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import start_ray_cluster, stop_ray_cluster
from stored_rows import RICH_STUDY, RICH_STUDY_ROWS, differing, stored_rows

STUDY = """\
name: on-cluster
dataset: {name: mnist1d, limit: 400, test_limit: 200}
model: {family: mlp, width: 16}
architectures: ["2", "2_02"]
training: {epochs: 1, batch_size: 64}
seeds: [0, 1]
strategies:
  fixed: {lr: 0.05}
  principled: {base_lr: 0.1}
"""


@pytest.mark.cluster
@pytest.mark.slow
def test_submit_runs_on_both_nodes_into_postgres(ray_cluster, postgres, tmp_path: Path):
    study = tmp_path / "cluster.yaml"
    study.write_text(STUDY)
    env = ray_cluster.client_env()
    upgrade = subprocess.run(
        [sys.executable, "-m", "archscale.cli", "db", "upgrade", "--db", postgres],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "archscale.cli",
            "submit",
            str(study),
            "--address",
            ray_cluster.dashboard_url,
            "--db",
            postgres,
            "--wait",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-2000:])
    job_id = result.stdout.splitlines()[0].strip()
    status = subprocess.run(
        [sys.executable, "-m", "archscale.cli", "status", job_id, "--address", ray_cluster.dashboard_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert "SUCCEEDED" in status.stdout
    with create_engine(postgres).connect() as connection:
        rows = connection.execute(
            text(
                "select t.phase, t.status, t.node_id from archscale_trial t join archscale_study s "
                "on s.id = t.study_id where s.name = 'on-cluster'"
            )
        ).all()
    assert len(rows) == 2 * 2 * 2 and {(p, s) for p, s, _ in rows} == {("final", "completed")}
    assert len({node for _, _, node in rows}) == 2  # one CPU per node: both nodes ran trials
    assert "password" not in result.stdout.lower()


@pytest.mark.cluster
@pytest.mark.slow
def test_the_same_study_stores_the_same_rows_on_the_cluster_as_embedded(
    ray_cluster, postgres, tmp_path: Path, rich_study_embedded
):
    """A study with a shared base search, TPE searches with ASHA and packed final runs: submitted to the
    two-node cluster (PostgreSQL) and run embedded (SQLite, 2 workers), its rows are identical."""
    study = tmp_path / "same-answer.yaml"
    study.write_text(RICH_STUDY)
    archscale = [sys.executable, "-m", "archscale.cli"]

    def call(*args: str, env: dict[str, str] | None = None) -> None:
        done = subprocess.run([*archscale, *args], capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])

    call("db", "upgrade", "--db", postgres)
    env = ray_cluster.client_env()
    call("submit", str(study), "--address", ray_cluster.dashboard_url, "--db", postgres, "--wait", env=env)
    cluster_rows, embedded_rows = stored_rows(postgres, "same-answer"), rich_study_embedded
    assert len(cluster_rows) == len(embedded_rows) == RICH_STUDY_ROWS
    assert not differing(embedded_rows, cluster_rows)


KILL_STUDY = """\
name: survives-a-node
dataset: {name: mnist1d, limit: 800, test_limit: 200}
model: {family: mlp, width: 64}
architectures: ["2", "2_02"]
training: {epochs: 6, batch_size: 16}
seeds: [0, 1]
strategies:
  fixed: {lr: 0.05}
  principled: {base_lr: 0.1}
resources: {max_failures: 3}
"""


@pytest.mark.cluster
@pytest.mark.slow
def test_study_survives_losing_a_worker_node(tmp_path: Path):
    directory = tmp_path / "cluster"
    cluster = start_ray_cluster(
        directory, "--workers", "1", "--cpus-per-node", "1", "--memory-mb", "2048", "--object-store-mb", "300"
    )
    try:
        study = tmp_path / "kill.yaml"
        study.write_text(KILL_STUDY)
        db = tmp_path / "kill.db"
        driver = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "archscale.cli",
                "run",
                str(study),
                "--address",
                cluster.address,
                "--db",
                f"sqlite:///{db}",
                "--no-compare",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=cluster.client_env(),
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _running(db) < 2:
            time.sleep(0.5)
        time.sleep(2)
        short = next(
            line.removeprefix("SHORT=")
            for line in (directory / "cluster.env").read_text().splitlines()
            if line.startswith("SHORT=")
        )
        assert _kill_tree(f"{short}/w1"), "no process of the worker node was found"
        output, _ = driver.communicate(timeout=600)
        assert driver.returncode == 0, output[-3000:]
        with sqlite3.connect(db) as connection:
            rows = connection.execute("select status, budget_reached from archscale_trial").fetchall()
        assert len(rows) == 8 and set(rows) == {("completed", 6)}
    finally:
        stop_ray_cluster(directory)


def _kill_tree(needle: str) -> int:
    """SIGKILL every process whose command line contains `needle`, and their descendants (Ray's agents
    rename themselves); return how many were killed."""
    parents: dict[int, int] = {}
    roots = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if needle.encode() in (proc / "cmdline").read_bytes():
                roots.append(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    tree = set(roots)
    while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
        tree |= grown
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    return len(tree)


def _running(db: Path) -> int:
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("select count(*) from archscale_trial where status = 'running'").fetchone()[0]
    except sqlite3.Error:
        return 0
