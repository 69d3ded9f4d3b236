"""docs/reproduction.md is rendered from study results: re-derive its numbers from a small study."""

import math

from archscale.report import compare
from archscale.report.reproduction import CLAIMS, Claim, render


def test_rendered_numbers_come_from_the_study(small_study):
    db, name = small_study
    claims = (
        Claim("probe r", name, name, "probe.pearson_raw.probe", "0.962", "tiny"),
        Claim("gain", name, name, "accuracy.diff.principled:fixed", "+0.44", "tiny", 100.0),
        Claim("missing", "no-such-study", "x", "probe.pearson_raw.probe", "1", "—"),
    )
    page = render(db, claims)
    comparison = compare(name, db=db)
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")[2] for line in page.splitlines() if line.startswith("| ")
    }
    r = comparison.stat("probe.pearson_raw.probe")
    gain = comparison.stat("accuracy.diff.principled:fixed")
    assert not math.isnan(r) and not math.isnan(gain)
    assert rows["probe r"].startswith(f"{r:.3g}")
    assert rows["gain"].startswith(f"{gain * 100:.3g}")
    assert rows["missing"] == "not run"


def test_every_claim_names_a_committed_study():
    from pathlib import Path

    studies = Path(__file__).parents[1] / "studies"
    for claim in CLAIMS:
        assert (studies / f"{claim.study}.yaml").exists() and (studies / f"{claim.full_study}.yaml").exists()
