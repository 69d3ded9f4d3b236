"""A study submitted with `archscale submit` to a real two-node Ray cluster (token auth on), its
results in the test PostgreSQL, its trials run on both nodes."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

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
                "select t.phase, t.status, t.ray_trial_id from archscale_trial t join archscale_study s "
                "on s.id = t.study_id where s.name = 'on-cluster'"
            )
        ).all()
    assert len(rows) == 2 * 2 * 2 and {(p, s) for p, s, _ in rows} == {("final", "completed")}
    assert "password" not in result.stdout.lower()
