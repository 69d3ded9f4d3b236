"""bench/gpu.sh --dry-run: the GPU check's code paths on the CPU at tiny sizes, and the files it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu.sh"


@pytest.mark.slow
def test_the_gpu_script_dry_run_writes_its_figures(tmp_path):
    env = os.environ | {"OUT": str(tmp_path), "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(SCRIPT), "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {p.name for p in tmp_path.iterdir()} == {
        "env.txt",
        "pytest.log",
        "throughput.log",
        "throughput.json",
        "throughput.md",
    }
    assert " passed" in (tmp_path / "pytest.log").read_text()
    facts = json.loads((tmp_path / "throughput.json").read_text())
    assert [r["side"] for r in facts["rows"]] == ["packed K=1", "packed K=2", "train() unpacked"]
    assert all(r["images_per_second"] > 0 and r["gpu_minutes_per_200_epoch_cifar10"] > 0 for r in facts["rows"])
    assert "| packed K=2 | 2 |" in (tmp_path / "throughput.md").read_text()


def test_the_gpu_script_refuses_unknown_arguments(tmp_path):
    done = subprocess.run(
        ["bash", str(SCRIPT), "--fast"], env=os.environ | {"OUT": str(tmp_path)}, capture_output=True, text=True
    )
    assert done.returncode == 2 and "usage" in done.stderr
