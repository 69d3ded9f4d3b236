"""Every interval method the report uses covers its true value 95% ± 3 pp of the time, at every n it is
used with (2 to 30 units), on normal data and on bounded, skewed accuracy-like data: a seeded simulation
(`archscale.report.statistics.calibration`; the full table, with more simulations, is in bench/RESULTS.md)."""

from archscale.report.statistics import stats
from archscale.report.statistics.calibration import CALIBRATED, NS, ONCE_ARCHITECTURES, coverage_table

SIMS = 2000


def test_every_interval_method_covers_95_percent_at_every_n():
    rows = coverage_table(sims=SIMS, seed=0, data=CALIBRATED)
    welch = {f"{stats.WELCH} ({archs} arch.)" for archs in ONCE_ARCHITECTURES}
    assert {r.method for r in rows} == {stats.T, stats.CROSSED, *welch} and {r.n for r in rows} == set(NS)
    off = [(r.method, r.data, r.n, r.coverage) for r in rows if abs(r.coverage - 0.95) > 0.03]
    assert not off, off
