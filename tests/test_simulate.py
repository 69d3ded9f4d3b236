"""`archscale run --simulate`: the synthetic trainer's stated function, and a simulated study end to end
through the real plan, Ray Tune, packs, searches, early stopping, recorder and database, marked simulated
in the database and in every report and export."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from archscale.train.synthetic import SyntheticRun, accuracy, diverges, epoch_metrics, optimal_lr, simulate_pack

STUDY = """\
name: sim-e2e
dataset: {name: digits}
model: {family: mlp, width: 16}
architectures: ["1", "2_02", "2_02_002", "2_22_222"]
training: {epochs: 4, batch_size: 32}
seeds: [0, 1, 2]
search: {trials: 6, low: 1.0e-3, high: 10.0, early_stopping: {grace_epochs: 1}}
strategies:
  principled: {}
  tuned: {}
  fixed: {lr: base}
resources: {cpu_per_trial: 0.5}
"""


def test_the_synthetic_metrics_peak_at_the_stated_optimum_and_diverge_above_8x():
    run = SyntheticRun(lr=optimal_lr(0.5), scale=0.5, seed=0, epochs=4, classes=10)
    assert optimal_lr(0.5) == pytest.approx(0.2 * 0.5**0.9)
    for factor in (0.5, 2.0, 7.9):
        other = SyntheticRun(run.lr * factor, 0.5, 0, 4, 10)
        assert accuracy(other, 4) < accuracy(run, 4) and not diverges(other)
    assert diverges(SyntheticRun(run.lr * 8.01, 0.5, 0, 4, 10))
    assert accuracy(run, 4) > accuracy(run, 1) > 0.1
    assert epoch_metrics(run, 3) == epoch_metrics(run, 3)  # deterministic: a hash, no global random state
    assert epoch_metrics(run, 3).val_accuracy != epoch_metrics(SyntheticRun(run.lr, 0.5, 1, 4, 10), 3).val_accuracy


def test_a_synthetic_pack_follows_the_packed_trainers_protocol():
    runs = [SyntheticRun(0.1, 1.0, 0, 3, 10), SyntheticRun(100.0, 1.0, 0, 3, 10), SyntheticRun(0.05, 1.0, 1, 3, 10)]
    seen: list[tuple[int, int]] = []
    results = simulate_pack(runs, lambda k, m: bool(seen.append((k, m.epoch))), lambda epoch: [2] if epoch == 1 else [])
    assert seen == [(0, 1), (2, 1), (0, 2), (0, 3)]
    assert [r.status.value for r in results] == ["completed", "diverged", "stopped"]
    assert [len(r.epochs) for r in results] == [3, 0, 1]


def test_a_simulated_study_cannot_join_a_real_one_of_the_same_name(results_url):
    from archscale.errors import UserError
    from archscale.store import Writer

    with Writer(results_url) as writer:
        writer.ensure_study("s", "x: 1")
        with pytest.raises(UserError, match="is real: a simulated run cannot add to it"):
            writer.ensure_study("s", "x: 1", simulated=True)
        writer.ensure_study("t", "x: 1", simulated=True)
        with pytest.raises(UserError, match="is simulated: a real run cannot add to it"):
            writer.ensure_study("t", "x: 1")


def archscale(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archscale.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("simulated")
    study = root / "study.yaml"
    study.write_text(STUDY)
    url = f"sqlite:///{root / 'results.db'}"
    result = archscale("run", str(study), "--db", url, "--simulate", "--no-compare")
    assert result.returncode == 0, result.stderr[-3000:]
    return study, url, root / "results.db", result


@pytest.mark.slow
def test_a_simulated_study_runs_every_planned_run_through_the_real_path(simulated):
    study, _, db, result = simulated
    plan = json.loads(archscale("plan", str(study), "--json", "--simulate").stdout)
    assert plan["total"]["runs"] == 6 + 4 * 6 + 33  # fixed's 3 runs on the base network are principled's
    assert "plan (simulated): 63 runs (66 trial rows)" in result.stderr.replace("\n", " ")
    with sqlite3.connect(db) as connection:
        (ray_trials,) = connection.execute("select count(distinct ray_trial_id) from archscale_trial").fetchone()
        assert ray_trials == plan["total"]["ray_trials"]  # the plan counts the Ray trials the run used
        statuses = dict(connection.execute("select status, count(*) from archscale_trial group by 1").fetchall())
        simulated_flag = connection.execute("select simulated from archscale_study").fetchall()
        devices = connection.execute("select distinct device_kind from archscale_trial").fetchall()
        trials = connection.execute(
            "select a.notation, t.arm, t.seed, t.hyperparameters, t.selected_epoch, t.test_accuracy, p.principled_scale"
            " from archscale_trial t join archscale_architecture a on a.id = t.architecture_id"
            " join archscale_study_architecture p on p.architecture_id = t.architecture_id"
            " where t.phase = 'final' and t.status = 'completed'"
        ).fetchall()
    assert sum(statuses.values()) == plan["total"]["rows"] == 66
    assert statuses.get("pruned", 0) > 0 and statuses.get("diverged", 0) > 0
    assert set(statuses) <= {"completed", "pruned", "diverged"}
    assert simulated_flag == [(1,)] and devices == [("simulated",)]
    for _, _, seed, hyperparameters, epoch, test_accuracy, scale in trials:
        lr = json.loads(hyperparameters)["lr"]
        expected = epoch_metrics(SyntheticRun(lr, scale, seed, 4, 10), epoch).test_accuracy
        assert test_accuracy == pytest.approx(expected, abs=1e-12)


@pytest.mark.slow
def test_every_report_and_export_of_a_simulated_study_says_so(simulated, cli, tmp_path):
    _, url, _, _ = simulated

    def out(*args: str) -> str:
        code, text, err = cli(*args, "--db", url)
        assert code == 0, err
        return text

    assert [s["simulated"] for s in json.loads(out("studies", "-f", "json"))] == [True]
    assert "simulated" in out("studies")
    assert out("compare", "sim-e2e").lstrip().startswith("SIMULATED")
    assert json.loads(out("compare", "sim-e2e", "-f", "json"))["simulated"] is True
    assert out("compare", "sim-e2e", "-f", "markdown").startswith("# Comparison: sim-e2e (simulated)")
    assert "<h1>Comparison: sim-e2e (simulated)</h1>" in out("compare", "sim-e2e", "-f", "html")
    assert pd.read_csv(io.StringIO(out("compare", "sim-e2e", "-f", "csv")))["simulated"].all()
    report = tmp_path / "report"
    out("compare", "sim-e2e", "--out", str(report))
    assert all(pd.read_csv(p)["simulated"].all() for p in report.glob("*.csv") if p.stat().st_size > 1)
    results = pd.read_csv(io.StringIO(out("results", "sim-e2e", "-f", "csv")))
    assert len(results) == 66 and results["simulated"].all()
    assert "SIMULATED" in out("results", "sim-e2e")
