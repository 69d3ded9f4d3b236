"""The metrics a comparison can rank and compare strategies by (`--metric`)."""

from __future__ import annotations

from dataclasses import dataclass

from archscale.errors import UserError


@dataclass(frozen=True)
class Metric:
    """A final-run metric: `column` of the trials frame, and `val_column`, its validation counterpart
    that searches select on (used for cost-to-match and the search curves). Accuracies are stored as
    fractions and shown as percentages (`percent`)."""

    name: str
    column: str
    val_column: str
    higher_is_better: bool
    label: str
    percent: bool

    def show(self, value: float, digits: int = 1) -> str:
        """A value in the metric's display unit, without the unit sign."""
        return f"{value * 100:.{digits}f}" if self.percent else f"{value:.{digits + 2}f}"

    @property
    def unit(self) -> str:
        return "%" if self.percent else ""

    @property
    def diff_unit(self) -> str:
        return " pp" if self.percent else ""

    @property
    def bounds(self) -> tuple[float, float] | None:
        """Where a mean of the metric can lie: [0, 1] for an accuracy, [0, ∞) for a loss."""
        return (0.0, 1.0) if self.percent else (0.0, float("inf"))

    @property
    def difference_bounds(self) -> tuple[float, float] | None:
        """Where a difference of two means can lie: [−1, 1] for accuracies, unbounded for losses."""
        return (-1.0, 1.0) if self.percent else None


METRICS = {
    m.name: m
    for m in (
        Metric("test_acc", "test_accuracy", "val_accuracy", True, "test accuracy", True),
        Metric("val_acc", "val_accuracy", "val_accuracy", True, "validation accuracy", True),
        Metric("test_loss", "test_loss", "val_loss", False, "test loss", False),
        Metric("val_loss", "val_loss", "val_loss", False, "validation loss", False),
    )
}
DEFAULT_METRIC = "test_acc"


def get_metric(name: str | Metric) -> Metric:
    if isinstance(name, Metric):
        return name
    try:
        return METRICS[name]
    except KeyError:
        raise UserError(f"unknown metric '{name}'; known: {', '.join(METRICS)}") from None
