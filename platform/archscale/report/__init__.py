"""Comparison of a study's strategies: tables, summary and rank statistics, the cost ledger, plots.

`compare(study, db=URL)` returns a `Comparison` of pandas frames; `render(comparison, fmt)` formats it
(table, markdown, csv, json, html) and `write_report(comparison, directory)` writes every format and
the plots. Nothing here trains or writes to the database.
"""

from archscale.report.comparison import Comparison, build_comparison, compare
from archscale.report.metrics import DEFAULT_METRIC, METRICS, Metric

__all__ = ["DEFAULT_METRIC", "METRICS", "Comparison", "Metric", "build_comparison", "compare"]
