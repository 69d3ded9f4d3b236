"""docs/reproduction.{md,json}: claims measured from stored studies, judged by one rule on their intervals;
`archscale reproduce` renders them and `--check` finds what changed."""

import json
import math
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from archscale.report import compare
from archscale.report.claims.reproduction import CLAIMS, NotRun, Stat, collect, measure_row
from archscale.report.claims.verdict import FAILS, INCONCLUSIVE, NOT_RUN, REPRODUCES, VERDICTS, Target, judge
from archscale.report.frames.protocol import DEVICE_HOURS
from archscale.report.render.reproduction import differences, to_json, to_markdown
from archscale.report.statistics.init_growth import complete_dag
from archscale.train.config import TrainConfig

ROOT = Path(__file__).parents[1]
PROTOCOL_FIELDS = {"batch_size", "steps_per_run", "epochs", "grid", "seeds", "criterion", "dataset", "width"}


@pytest.mark.parametrize(
    ("target", "lo", "hi", "verdict"),
    [
        (Target(0.9), 0.85, 0.95, REPRODUCES),  # contains the paper's value, excludes 0
        (Target(0.9), 0.92, 0.99, REPRODUCES),  # beyond it on the better side
        (Target(0.9), 0.2, 0.8, FAILS),  # wholly below
        (Target(0.9), -0.2, 0.95, INCONCLUSIVE),  # consistent, but contains no effect
        (Target(0.44), -0.3, -0.1, FAILS),
        (Target(0.44), 0.1, 0.3, FAILS),  # positive, but wholly below the paper's gain
        (Target(None), 0.1, 0.3, REPRODUCES),  # a direction only: wholly above no effect
        (Target(None), -0.1, 0.3, INCONCLUSIVE),
        (Target(None), -0.3, -0.1, FAILS),
        (Target(None, "lower"), -0.3, -0.1, REPRODUCES),
        (Target(None, "lower"), 0.1, 0.3, FAILS),
        (Target(-1.5, "two-sided"), -1.9, -1.3, REPRODUCES),
        (Target(-1.5, "two-sided"), -1.4, -1.1, FAILS),
        (Target(-1.5, "two-sided"), -2.5, -1.6, FAILS),
        (Target(-1.5, "two-sided"), -1.9, 0.2, INCONCLUSIVE),
        (Target(0.9), math.nan, math.nan, INCONCLUSIVE),
        (Target(0.9), None, None, INCONCLUSIVE),
    ],
)
def test_the_verdict_rule(target, lo, hi, verdict):
    assert judge(target, lo, hi)[0] == verdict


def test_a_claim_anchored_on_a_censored_probe_is_inconclusive():
    assert judge(Target(0.9), 0.92, 0.99, censored=True)[0] == INCONCLUSIVE
    assert judge(Target(0.9), 0.1, 0.2, censored=True)[0] == INCONCLUSIVE


def _claims(name: str):
    return (
        replace(_by_id("mlp-depth-r"), study=name),
        replace(_by_id("mlp-depth-exponent"), study=name),
        replace(_by_id("nb201-cifar10-gain-vs-fixed"), study=name),
        replace(_by_id("nb201-rank-tau-vs-fixed"), study=name),
        replace(_by_id("nb201-seed-tau-floor"), study=name),
        replace(_by_id("nb201-pairwise-gaps"), study=name),
        replace(_by_id("mlp-topology-r"), study="no-such-study"),
        _by_id("nb201-cifar100-gain-vs-fixed"),
    )


def _by_id(claim_id: str):
    return next(c for c in CLAIMS if c.id == claim_id)


def test_rows_come_from_the_study_with_their_protocol(small_study):
    db, name = small_study
    rows = {row.id: row for row in collect(db, _claims(name))}
    comparison = compare(name, db=db)

    r = comparison.row("probe.pearson_raw.probe")
    gain = comparison.row("accuracy.diff.principled:fixed")
    assert rows["mlp-depth-r"].measured == pytest.approx(r["value"]) and rows["mlp-depth-r"].n == r["n"]
    assert rows["mlp-depth-r"].method == r["method"]
    assert rows["nb201-cifar10-gain-vs-fixed"].measured == pytest.approx(100 * gain["value"])
    assert rows["nb201-cifar10-gain-vs-fixed"].lo == pytest.approx(100 * gain["lo"])

    probe = rows["mlp-depth-r"].protocol
    assert set(probe) >= PROTOCOL_FIELDS
    batch = TrainConfig(lr=0.1).batch_size  # the small study keeps the default
    assert probe["batch_size"] == batch and probe["epochs"] == 1 and probe["width"] == 32
    assert probe["dataset"]["train"] + probe["dataset"]["val"] == 600  # its limit
    assert probe["steps_per_run"] == math.ceil(probe["dataset"]["train"] / batch)
    assert probe["grid"]["points"] == 4 and probe["grid"]["low"] == pytest.approx(1e-4)
    assert probe["seeds"] == [0, 1]
    final = rows["nb201-cifar10-gain-vs-fixed"].protocol
    assert final["epochs"] == 2 and final["steps_per_run"] == 2 * math.ceil(final["dataset"]["train"] / batch)
    assert final["search"]["trials"] == 3

    lrs = rows["mlp-depth-r"].probed_lrs
    assert len(lrs) == comparison.probe["graph_hash"].nunique()
    assert all({"probed_lr", "lo", "hi", "censored"} <= set(p) for p in lrs)

    for row in rows.values():
        assert row.verdict in VERDICTS
        if row.verdict == NOT_RUN:
            assert row.full_study and row.device_hours is not None and row.device_hours_basis
        elif row.study != "no-such-study":
            assert row.protocol and row.n is not None and row.method
    assert rows["mlp-topology-r"].verdict == INCONCLUSIVE and "not in the database" in rows["mlp-topology-r"].note


def test_rank_claims_have_bootstrap_intervals_over_architectures(small_study):
    db, name = small_study
    rows = {row.id: row for row in collect(db, _claims(name))}
    for claim_id in ("nb201-rank-tau-vs-fixed", "nb201-seed-tau-floor", "nb201-pairwise-gaps"):
        row = rows[claim_id]
        assert row.n == 4 and "bootstrap over architectures" in row.method, row
        assert row.lo <= row.measured <= row.hi


def test_the_command_writes_every_claim_and_check_finds_changes(small_study, tmp_path):
    db, _ = small_study
    archscale = [sys.executable, "-m", "archscale.cli", "reproduce", "--db", db]
    done = subprocess.run([*archscale, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    claims = json.loads((tmp_path / "reproduction.json").read_text())["claims"]
    assert [c["id"] for c in claims] == [c.id for c in CLAIMS]
    page = (tmp_path / "reproduction.md").read_text()
    assert all(f"`{c.id}`" in page for c in CLAIMS) and "Verdict rule" in page

    same = subprocess.run([*archscale, "--check", str(tmp_path / "reproduction.json")], capture_output=True, text=True)
    assert same.returncode == 0 and same.stdout == "", same.stdout + same.stderr
    tampered = json.loads((tmp_path / "reproduction.json").read_text())
    init = next(c for c in tampered["claims"] if c["id"] == "init-signal-theta1")
    init["measured"] += 0.01
    init["verdict"] = REPRODUCES
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    changed = subprocess.run([*archscale, "--check", str(tmp_path / "tampered.json")], capture_output=True, text=True)
    assert changed.returncode == 1 and changed.stdout.startswith("init-signal-theta1: measured"), changed.stdout
    bad = subprocess.run([*archscale, "--check", str(tmp_path / "missing.json")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_differences_compare_numbers_to_six_digits():
    row = measure_row(_by_id("nb201-cifar100-gain-vs-fixed"), None)
    committed = json.loads(to_json([row]))
    assert differences([row], committed) == []
    committed["claims"][0]["verdict"] = REPRODUCES
    assert differences([row], committed) == [f"{row.id}: verdict 'reproduces' → 'not-run'"]
    assert differences([], committed) == [f"{row.id}: committed, but not measured now"]


def test_the_init_claim_matches_an_independent_simulation():
    """paper-spec §3.4 (a numpy simulation, not this code): on 2_22_222_2222 in the code's post-activation
    formulation at width 1024, E[z²] at the last node is 20.98 under He's init and 10.67 under the source
    rule; the RMS growth is their square root."""
    from archscale.graph import parse_architecture
    from archscale.nn.coord_check import coordinate_check

    arch = parse_architecture(complete_dag(4), "mlp", 3)
    for scheme, second_moment in (("kaiming", 20.98), ("architecture-aware", 10.67)):
        growth = np.mean([coordinate_check(arch, scheme, lr=0.0, width=1024, steps=0, seed=s).growth() for s in (0, 1)])
        assert growth == pytest.approx(math.sqrt(second_moment), rel=0.08), scheme


def test_every_claim_names_committed_studies_and_every_full_study_states_its_cost():
    studies = ROOT / "studies"
    for claim in CLAIMS:
        for name in filter(None, (claim.study, claim.full_study)):
            assert yaml.safe_load((studies / f"{name}.yaml").read_text())["name"] == name
    for path in sorted(studies.glob("paper-*.yaml")):
        if path.stem.endswith("-cpu"):
            continue
        assert DEVICE_HOURS.search(path.read_text()), f"{path.name} states no '# device-hours:' line"
    assert all(isinstance(c.measure, NotRun) or c.study or c.id.startswith("init") for c in CLAIMS)


def test_committed_json_has_every_field_the_reviewer_needs():
    committed = json.loads((ROOT / "docs" / "reproduction.json").read_text())
    assert [c["id"] for c in committed["claims"]] == [c.id for c in CLAIMS]
    for claim in committed["claims"]:
        assert claim["verdict"] in VERDICTS
        if claim["verdict"] == NOT_RUN:
            assert claim["full_study"] and claim["device_hours"] is not None
            continue
        assert {"lo", "hi", "n", "method"} <= set(claim) and claim["n"]
        assert set(claim["protocol"]) >= PROTOCOL_FIELDS, claim["id"]
        spec = next(c for c in CLAIMS if c.id == claim["id"])
        if isinstance(spec.measure, Stat) and spec.measure.key.startswith("probe."):
            assert claim["protocol"]["steps_per_run"] >= 40, claim["id"]
            assert all(p["lo"] is not None and p["hi"] is not None for p in claim["probed_lrs"]), claim["id"]
    proxy = next(c for c in committed["claims"] if c["id"] == "nb201-cifar10-gain-vs-fixed")
    assert proxy["architectures"] >= 16 and len(proxy["protocol"]["seeds"]) >= 5
    assert proxy["protocol"]["search"]["repeats"] >= 3


def test_markdown_links_the_figures(tmp_path):
    figures = tmp_path / "figures" / "paper-mlp-depth-cpu"
    figures.mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "figures" / "paper-mlp-depth-cpu" / "probe.png", figures / "probe.png")
    row = replace(measure_row(_by_id("nb201-cifar100-gain-vs-fixed"), None), study="paper-mlp-depth-cpu")
    page = to_markdown([row], tmp_path / "figures", Path("figures"))
    assert "![paper-mlp-depth-cpu probe](figures/paper-mlp-depth-cpu/probe.png)" in page


def test_gelu_studies_are_labelled_with_the_papers_gelu_values():
    import pandas as pd

    from archscale.report.statistics.probe import paper_reference

    chains = pd.DataFrame({"is_base": [True, False], "paths": [1, 1], "family": ["mlp", "mlp"]})
    assert paper_reference(chains)[0] == 0.962
    assert paper_reference(chains, "gelu")[0] == 0.920 and "App. E.2" in paper_reference(chains, "gelu")[1]
    assert math.isnan(paper_reference(chains, "tanh")[0])


PACK_STUDY = """\
name: pack-probe
dataset: {name: digits, val_fraction: 0.0, limit: 600}
model: {family: mlp, width: 64}
architectures: ["1", {sweep: depth, depths: [1, 2, 3]}]
training: {epochs: 1, batch_size: 16, optimizer: {momentum: 0.0}, schedule: constant}
seeds: [0, 1]
strategies:
  probe: {low: 0.01, high: 4.0, points: 13, extend: 4}
"""


@pytest.mark.slow
def test_packed_and_unpacked_probes_give_the_same_probed_lrs_and_verdicts(tmp_path):
    """Issue 25: a rounding difference must not move a probed LR. Packs compute each member's bits as
    it would alone, so packs of 16 and packs of 1 store the same losses, probed LRs and verdicts."""
    study = tmp_path / "study.yaml"
    study.write_text(PACK_STUDY)
    db = f"sqlite:///{tmp_path / 'results.db'}"
    run = [sys.executable, "-m", "archscale.cli", "run", str(study), "--db", db, "--no-compare"]
    for extra in ([], ["--set", "resources.pack=1", "--new-name", "pack-probe-alone"]):
        done = subprocess.run([*run, *extra], capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    claims = [replace(_by_id(i), study=name) for name in ("pack-probe", "pack-probe-alone") for i in ("mlp-depth-r",)]
    packed, alone = collect(db, [claims[0]])[0], collect(db, [claims[1]])[0]
    assert packed.probed_lrs == alone.probed_lrs and len(packed.probed_lrs) == 4
    assert (packed.measured, packed.lo, packed.hi, packed.verdict) == (
        alone.measured,
        alone.lo,
        alone.hi,
        alone.verdict,
    )
