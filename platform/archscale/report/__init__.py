"""Comparison of a study's arms: tables, summary and rank statistics, the cost ledger, plots.

A pipeline of four stages, each importing only the stages before it: `frames` (the store's rows and
plan, read once) → `statistics` (estimates with honest intervals) → `claims` (the comparison's and the
reproduction's, with the verdict rule) → `render` (table, markdown, CSV, JSON, HTML, figures). The
report never re-plans from the YAML and never branches on a strategy kind. `compare(study, db=URL)`
returns a `Comparison` of pandas frames; `render.output.render(comparison, fmt)` formats it and
`render.output.write_report(comparison, directory)` writes every format and the plots. Nothing here
trains or writes to the database.
"""

from archscale.report.claims.comparison import Comparison, build_comparison, compare
from archscale.report.frames.metrics import DEFAULT_METRIC, METRICS, Metric
from archscale.report.frames.study import Inputs
from archscale.store import StudyPlan

__all__ = ["DEFAULT_METRIC", "METRICS", "Comparison", "Inputs", "Metric", "StudyPlan", "build_comparison", "compare"]
