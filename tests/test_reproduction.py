"""docs/reproduction.md and .json are rendered from study results: re-derive their numbers from a small study."""

import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml

from archscale.report import compare
from archscale.report.reproduction import (
    CHAIN_R_LEVEL,
    CLAIMS,
    DAG_R_LEVEL,
    FAILS,
    INCONCLUSIVE,
    NOT_RUN,
    REPRODUCES,
    AtLeast,
    Claim,
    Meets,
    Positive,
    collect,
    main,
    measure,
    to_json,
    to_markdown,
)
from archscale.report.summary import SUMMARY_COLUMNS

IDS = {
    "mlp-depth-r",
    "mlp-depth-exponent",
    "mlp-topology-r",
    "cnn-kernels-r",
    "nb201-cifar10-gain-vs-fixed",
    "nb201-rank-tau-vs-fixed",
    "gelu-mlp-depth-r",
    "gelu-mlp-topology-r",
    "gelu-cnn-r",
    "mup-vs-principled-nb201",
}


def _claim(claim_id: str, study: str, key: str, scale: float = 1.0) -> Claim:
    rule = Positive() if key.startswith("accuracy.") else AtLeast(CHAIN_R_LEVEL)
    return Claim(claim_id, claim_id, study, "x", key, 0.5, "paper", rule, "tiny", scale=scale)


def _page_rows(page: str) -> dict[str, list[str]]:
    cells = [line.strip("| ").split(" | ") for line in page.splitlines() if line.startswith("| `")]
    return {row[0].strip("`"): row for row in cells}


def test_page_and_json_numbers_come_from_the_study(small_study):
    db, name = small_study
    claims = (
        _claim("probe-r", name, "probe.pearson_raw.probe"),
        _claim("gain", name, "accuracy.diff.principled:fixed", 100.0),
        _claim("missing", "no-such-study", "probe.pearson_raw.probe"),
    )
    rows = collect(db, claims)
    comparison = compare(name, db=db)
    claimed = {c["id"]: c for c in json.loads(to_json(rows))["claims"]}
    page = _page_rows(to_markdown(rows))

    r, without = comparison.row("probe.pearson_raw.probe"), comparison.row("probe.pearson_raw_without_base.probe")
    gain = comparison.row("accuracy.diff.principled:fixed")
    assert r is not None and without is not None and gain is not None
    assert not math.isnan(r["value"]) and not math.isnan(gain["value"])
    assert claimed["probe-r"]["measured"] == pytest.approx(r["value"])
    assert claimed["probe-r"]["n"] == r["n"] and claimed["probe-r"]["method"] == r["method"]
    assert claimed["probe-r"]["measured_without_base"] == pytest.approx(without["value"])
    assert claimed["probe-r"]["architectures"] == comparison.probe["graph_hash"].nunique()
    assert claimed["gain"]["measured"] == pytest.approx(gain["value"] * 100)
    for bound in ("lo", "hi"):
        expected = gain[bound] * 100 if math.isfinite(gain[bound]) else None
        assert claimed["gain"][bound] == (pytest.approx(expected) if expected is not None else None)
    for entry in (claimed["probe-r"], claimed["gain"]):
        assert entry["seeds"] == list(comparison.plan.seeds) and entry["study"] == name
        assert entry["minutes"] is not None and entry["minutes"] >= 0
    assert page["probe-r"][3].startswith(f"{r['value']:.3g}")
    assert page["gain"][3].startswith(f"{gain['value'] * 100:.3g}")
    assert "without the base network" in claimed["probe-r"]["note"]

    assert claimed["missing"]["measured"] is None and claimed["missing"]["note"] == NOT_RUN
    assert page["missing"][3] == NOT_RUN


def test_every_claim_id_is_written_by_the_command(small_study, tmp_path, monkeypatch):
    db, _ = small_study
    monkeypatch.setattr(sys, "argv", ["reproduction", "--db", db, "--out", str(tmp_path)])
    main()
    claims = json.loads((tmp_path / "reproduction.json").read_text())["claims"]
    assert [c["id"] for c in claims] == [c.id for c in CLAIMS] and set(c.id for c in CLAIMS) == IDS
    assert all(c["measured"] is None and c["note"] == NOT_RUN for c in claims)  # none of them is in this database
    page = _page_rows((tmp_path / "reproduction.md").read_text())
    assert set(page) == IDS and all(row[3] == NOT_RUN for row in page.values())


@pytest.mark.parametrize(
    ("rule", "value", "lo", "hi", "verdict"),
    [
        (AtLeast(CHAIN_R_LEVEL), 0.951, math.nan, math.nan, REPRODUCES),
        (AtLeast(CHAIN_R_LEVEL), 0.949, 0.9, 0.99, FAILS),
        (AtLeast(DAG_R_LEVEL), 0.7, math.nan, math.nan, REPRODUCES),
        (AtLeast(DAG_R_LEVEL), 0.69, 0.5, 0.9, FAILS),
        (Meets(-2.1, -1.5), -1.3, -1.6, -1.0, REPRODUCES),
        (Meets(-2.1, -1.5), -1.3, -1.45, -1.15, FAILS),
        (Meets(-2.1, -1.5), -2.5, -2.9, -2.2, FAILS),
        (Meets(-2.1, -1.5), -1.8, math.nan, math.nan, REPRODUCES),
        (Positive(), 0.4, 0.1, 0.7, REPRODUCES),
        (Positive(), 0.4, -0.1, 0.9, INCONCLUSIVE),
        (Positive(), -0.4, -0.9, 0.1, INCONCLUSIVE),
        (Positive(), -0.4, -0.7, -0.1, FAILS),
        (Positive(), 0.4, math.nan, math.nan, INCONCLUSIVE),
    ],
)
def test_judgement_rules(rule, value, lo, hi, verdict):
    assert rule.judge(value, lo, hi)[0] == verdict


def test_verdict_is_written_from_the_numbers(small_study):
    """Hand-made statistics above and below the levels give the verdict and its reason in the note."""
    db, name = small_study
    comparison = compare(name, db=db)
    by_id = {c.id: replace(c, study=name) for c in CLAIMS}

    def with_stats(values: dict[str, tuple[float, float, float]]):
        rows = [
            dict(zip(SUMMARY_COLUMNS, (k, "", "", v, lo, hi, 8, "m", "", "", "", math.nan, ""), strict=True))
            for k, (v, lo, hi) in values.items()
        ]
        return replace(comparison, summary=pd.DataFrame(rows, columns=SUMMARY_COLUMNS))

    high = with_stats({"probe.pearson_raw.probe": (0.97, 0.9, 0.99), "probe.depth_exponent.probe": (-1.7, -1.9, -1.5)})
    low = with_stats({"probe.pearson_raw.probe": (0.8, 0.5, 0.9), "probe.depth_exponent.probe": (-1.0, -1.2, -0.8)})
    assert measure(high, by_id["mlp-depth-r"]).verdict == REPRODUCES
    assert measure(low, by_id["mlp-depth-r"]).note.startswith(f"{FAILS} (r = 0.8 < {CHAIN_R_LEVEL:g})")
    assert measure(low, by_id["mlp-topology-r"]).verdict == REPRODUCES
    assert measure(high, by_id["mlp-depth-exponent"]).verdict == REPRODUCES
    assert measure(low, by_id["mlp-depth-exponent"]).verdict == FAILS
    gains = with_stats({"accuracy.diff.principled:fixed": (-0.01, -0.02, -0.005)})
    lost = measure(gains, by_id["nb201-cifar10-gain-vs-fixed"])
    assert lost.verdict == FAILS and lost.measured == pytest.approx(-1.0) and lost.hi == pytest.approx(-0.5)


def test_every_claim_names_a_committed_study():
    studies = Path(__file__).parents[1] / "studies"
    for claim in CLAIMS:
        for name in (claim.study, claim.full_study):
            path = studies / f"{name}.yaml"
            assert path.exists(), path
            assert yaml.safe_load(path.read_text())["name"] == name
