"""The topology coordinate check on DAGs where the answer is known (paper-spec §3.4)."""

import json
import subprocess
import sys

import pytest

from archscale.graph import parse_architecture
from archscale.nn.coord_check import coordinate_check


def growth_squared(arch: str, scheme: str) -> float:
    result = coordinate_check(parse_architecture(arch), scheme, lr=0.01, width=1024, steps=1)
    return result.growth() ** 2


def test_chain_keeps_its_signal_under_both_inits():
    for scheme in ("kaiming", "architecture-aware"):
        assert growth_squared("2_02_002_0002", scheme) == pytest.approx(1.0, rel=0.2)


def test_dense_dag_grows_less_with_architecture_aware_init():
    # §3.4, the code's post-activation formulation: E[z²] at node 4 ≈ 21× (He) vs ≈ 10.7× (source rule).
    kaiming = growth_squared("2_22_222_2222", "kaiming")
    aware = growth_squared("2_22_222_2222", "architecture-aware")
    assert kaiming == pytest.approx(21, rel=0.3)
    assert aware == pytest.approx(10.7, rel=0.3)


def test_cli_json_and_plot(tmp_path):
    plot = tmp_path / "check.png"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "archscale.cli",
            "check",
            "2_22_222",
            "--width",
            "256",
            "--steps",
            "2",
            "--principled",
            "--json",
            "--plot",
            str(plot),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    record = json.loads(out.stdout)
    aware = record["schemes"]["architecture-aware"]
    assert aware["lr"] == pytest.approx(0.1 * 0.225706, rel=1e-5)
    assert [n["node"] for n in aware["nodes"]] == [0, 1, 2, 3]
    assert plot.stat().st_size > 10_000


def test_cli_refuses_nb201_in_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "archscale.cli", "check", "3_33_133"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "NAS-Bench-201" in out.stderr
