"""Benchmark scripts in their quick modes, so that none can rot unnoticed (bench_store.py had: it called
the writer with an old signature and a column that no longer exists). gpu.sh's is tests/test_gpu_script.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
TINY_STUDY = """\
name: bench-tiny
dataset: {name: digits, limit: 200, test_limit: 100}
model: {family: mlp, width: 16}
architectures: ["1", "2_02"]
training: {epochs: 1, batch_size: 64}
seeds: [0]
search: {trials: 2}
strategies:
  principled: {}
  tuned: {}
"""


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


def test_the_lr_benchmark_runs_quickly():
    out = bench(str(BENCH / "bench_lr.py"), "--quick")
    assert "archscale lr --json, 1,000 N5 DAG strings" in out and "enumeration" in out


def test_the_pack_benchmark_runs_a_small_probe():
    out = bench(
        str(BENCH / "bench_pack.py"), "probe", "--depths", "2", "--points", "4", "--seeds", "1", "--width", "16"
    )
    assert "plain loop" in out and "packed" in out


@pytest.mark.slow
def test_the_study_benchmark_runs_a_tiny_study(tmp_path):
    study = tmp_path / "tiny.yaml"
    study.write_text(TINY_STUDY)
    assert "whole command:" in bench(str(BENCH / "bench_study.py"), "--study", str(study))


def test_the_training_benchmark_runs_its_data_case():
    assert "CropFlip" in bench(str(BENCH / "bench_train.py"), "--case", "data", "--threads", "1")


def test_the_throughput_benchmark_runs_quickly():
    assert "GFLOP/s" in bench(str(BENCH / "bench_throughput.py"), "--quick")


@pytest.mark.slow
def test_the_scale_benchmark_runs_a_small_simulated_space():
    figures = json.loads(bench(str(BENCH / "bench_scale.py"), "--quick"))
    assert figures["stored"]["trials"] == figures["planned_rows"] == figures["stored"]["distinct_keys"]
    assert {"compare_table", "compare_json", "results_csv", "studies"} <= set(figures["reports"])
