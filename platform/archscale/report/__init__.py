"""Comparison of a study's arms: tables, summary and rank statistics, the cost ledger, plots.

The input is the store's frames and the study's plan (`Inputs`, `StudyPlan`); the report never
re-plans from the YAML and never branches on a strategy kind. `compare(study, db=URL)` returns a
`Comparison` of pandas frames; `render(comparison, fmt)` formats it (table, markdown, csv, json, html)
and `write_report(comparison, directory)` writes every format and the plots. Nothing here trains or
writes to the database.
"""

from archscale.report.comparison import Comparison, build_comparison, compare
from archscale.report.frames import Inputs
from archscale.report.metrics import DEFAULT_METRIC, METRICS, Metric
from archscale.store import StudyPlan

__all__ = ["DEFAULT_METRIC", "METRICS", "Comparison", "Inputs", "Metric", "StudyPlan", "build_comparison", "compare"]
