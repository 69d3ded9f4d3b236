"""The comparison's pictures as PNG bytes (matplotlib's Agg canvas, no pyplot global state).

- `learning_rates`: principled (predicted) vs tuned LR per architecture, log-log, identity line;
- `probe`: predicted vs probed maximal LR (probe studies), and `probe_depth`: probed LR vs depth;
- `accuracy`: the metric per architecture per strategy with 95% interval error bars;
- `search_cost`: best-so-far validation score vs cumulative search device time per strategy;
- `rank_shift`: a slope chart of the architectures' ranks under two strategies.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np

from archscale.report.display import compared

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from archscale.report.comparison import Comparison

COLORS = {"principled": "#1f77b4", "tuned": "#d62728", "fixed": "#7f7f7f", "probe": "#2ca02c"}
MARKERS = {"principled": "o", "tuned": "s", "fixed": "^"}
DPI = 110
MAX_POINT_LABELS = 20


def figures(c: Comparison) -> dict[str, bytes]:
    """Every picture that applies to this comparison, by name (PNG bytes), in display order."""
    out: dict[str, bytes] = {}
    for name, draw in (
        ("learning_rates", learning_rates),
        ("probe", probe),
        ("probe_depth", probe_depth),
        ("accuracy", accuracy),
        ("search_cost", search_cost),
        ("rank_shift", rank_shift),
    ):
        figure = draw(c)
        if figure is not None:
            out[name] = png(figure)
    return out


def png(figure: Figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _figure(width: float = 6.4, height: float = 4.8) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.add_subplot()
    axes.grid(True, which="major", alpha=0.3)
    return figure, axes


def _scatter_log(axes: Axes, x: np.ndarray, y: np.ndarray, labels: list[str], color: str, label: str) -> None:
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    axes.scatter(x[keep], y[keep], color=color, s=36, zorder=3, label=label, edgecolor="white", linewidth=0.5)
    if keep.sum() <= MAX_POINT_LABELS:
        points = sorted(zip(x[keep], y[keep], np.asarray(labels, dtype=object)[keep], strict=True))
        for i, (xi, yi, text) in enumerate(points):  # alternate above/below so neighbours do not collide
            axes.annotate(
                text, (xi, yi), xytext=(4, 4 if i % 2 == 0 else -10), textcoords="offset points", fontsize=7, alpha=0.8
            )
    if keep.any():
        low, high = min(x[keep].min(), y[keep].min()), max(x[keep].max(), y[keep].max())
        pad = (high / low) ** 0.12 if high > low else 2.0
        line = np.array([low / pad, high * pad])
        axes.plot(line, line, color="black", linestyle="--", linewidth=1, label="identity (y = x)")
        axes.set_xlim(line)
        axes.set_ylim(line)
    _log_axes(axes)
    axes.set_aspect("equal", adjustable="box")


def _log_axes(axes: Axes) -> None:
    """Log scales with plain decimal tick labels at 1, 2 and 5 × 10^k (no crowded minor labels)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.set_xscale("log")
    axes.set_yscale("log")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _stat_text(c: Comparison, keys: list[tuple[str, str]]) -> str:
    parts = []
    for key, name in keys:
        row = c.row(key)
        if row is not None and math.isfinite(row["value"]):
            parts.append(f"{name} = {row['value']:.3f} (n={row['n']})")
    return "\n".join(parts)


def _pairs(x: np.ndarray, y: np.ndarray) -> int:
    """How many points a log-log scatter of x and y can show."""
    with np.errstate(invalid="ignore"):
        return int((np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)).sum())


def learning_rates(c: Comparison) -> Figure | None:
    pa = c.per_architecture
    if "tuned" not in c.strategies or not _pairs(
        pa["principled_lr"].to_numpy(dtype=float), pa["tuned_lr"].to_numpy(dtype=float)
    ):
        return None
    figure, axes = _figure()
    _scatter_log(
        axes,
        pa["principled_lr"].to_numpy(dtype=float),
        pa["tuned_lr"].to_numpy(dtype=float),
        pa["label"].tolist(),
        COLORS["tuned"],
        "architecture",
    )
    axes.set_xlabel("principled LR (base LR × architecture scale)")
    axes.set_ylabel("tuned LR (best found by Optuna)")
    axes.set_title(f"{c.study}: predicted vs tuned learning rate")
    text = _stat_text(
        c, [("lr.spearman.tuned-principled", "Spearman ρ"), ("lr.pearson_log.tuned-principled", "Pearson r (log)")]
    )
    _annotate(axes, text)
    return figure


def _annotate(axes: Axes, text: str) -> None:
    """The statistics box in the top-left corner (when there is text) and the legend."""
    if text:
        axes.text(
            0.03,
            0.97,
            text,
            transform=axes.transAxes,
            va="top",
            fontsize=8,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8},
        )
    axes.legend(loc="lower right", fontsize=8)


def probe(c: Comparison) -> Figure | None:
    p = c.probe
    if p is None or not _pairs(p["predicted_lr"].to_numpy(dtype=float), p["probed_lr"].to_numpy(dtype=float)):
        return None
    figure, axes = _figure()
    labels = [f"{lab} (base)" if b else lab for lab, b in zip(p["label"], p["is_base"], strict=True)]
    _scatter_log(
        axes,
        p["predicted_lr"].to_numpy(dtype=float),
        p["probed_lr"].to_numpy(dtype=float),
        labels,
        COLORS["probe"],
        "architecture",
    )
    axes.set_xlabel("predicted maximal LR (base's probed LR × scale)")
    axes.set_ylabel("probed maximal LR (lowest training loss)")
    axes.set_title(f"{c.study}: predicted vs probed maximal learning rate")
    text = _stat_text(
        c,
        [
            ("probe.pearson_raw", "Pearson r"),
            ("probe.pearson_log", "Pearson r (log)"),
            ("probe.spearman", "Spearman ρ"),
        ],
    )
    row = c.row("probe.pearson_raw")
    if row is not None and math.isfinite(row["expected"]):
        text += f"\npaper: r = {row['expected']:g}"
    _annotate(axes, text)
    return figure


def probe_depth(c: Comparison) -> Figure | None:
    p = c.probe
    if p is None:
        return None
    chains = p[p["depth"].notna() & np.isfinite(p["probed_lr"].to_numpy(dtype=float))]
    if chains["depth"].nunique() < 2:
        return None
    figure, axes = _figure()
    depth, probed = chains["depth"].to_numpy(dtype=float), chains["probed_lr"].to_numpy(dtype=float)
    axes.scatter(depth, probed, color=COLORS["probe"], zorder=3, label="probed maximal LR")
    grid = np.geomspace(depth.min(), depth.max(), 50)
    row = c.row("probe.depth_exponent")
    if row is not None and math.isfinite(row["value"]):
        intercept = np.mean(np.log(probed) - row["value"] * np.log(depth))
        axes.plot(
            grid,
            np.exp(intercept) * grid ** row["value"],
            color=COLORS["probe"],
            label=f"fit: LR ∝ L^{row['value']:.2f}",
        )
    anchor = np.exp(np.mean(np.log(probed) + 1.5 * np.log(depth)))
    axes.plot(grid, anchor * grid**-1.5, color="black", linestyle="--", linewidth=1, label="paper: LR ∝ L^-1.5")
    _log_axes(axes)
    axes.set_xlabel("depth L (layers on the path, S = L³)")
    axes.set_ylabel("probed maximal LR")
    axes.set_title(f"{c.study}: maximal learning rate vs depth (chains)")
    axes.legend(fontsize=8)
    return figure


def accuracy(c: Comparison) -> Figure | None:
    pa = c.per_architecture
    strategies = [s for s in compared(c) if pa[f"{s}_n"].gt(0).any()]
    if not strategies or pa.empty:
        return None
    order = np.argsort(pa["S"].to_numpy(dtype=float), kind="stable")
    n = len(pa)
    figure, axes = _figure(max(6.4, 0.55 * n + 2.5), 4.8)
    offsets = np.linspace(-0.25, 0.25, len(strategies)) if len(strategies) > 1 else [0.0]
    scale = 100.0 if c.metric.percent else 1.0
    for strategy, offset in zip(strategies, offsets, strict=True):
        mean = pa[f"{strategy}_mean"].to_numpy(dtype=float)[order] * scale
        lo = pa[f"{strategy}_ci_lo"].to_numpy(dtype=float)[order] * scale
        hi = pa[f"{strategy}_ci_hi"].to_numpy(dtype=float)[order] * scale
        errors = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
        axes.errorbar(
            np.arange(n) + offset,
            mean,
            yerr=errors,
            fmt=MARKERS[strategy],
            color=COLORS[strategy],
            capsize=3,
            label=strategy,
            markersize=6,
        )
    tilt = n > 4
    axes.set_xticks(
        np.arange(n),
        pa["label"].to_numpy()[order],
        rotation=45 if tilt else 0,
        ha="right" if tilt else "center",
        fontsize=8,
    )
    axes.set_xlabel("architecture (ordered by S = Σ path depth³)")
    axes.set_ylabel(f"{c.metric.label}{' (%)' if c.metric.percent else ''}")
    axes.set_title(f"{c.study}: final {c.metric.label} per strategy (mean, 95% interval over seeds)")
    axes.legend(fontsize=8)
    return figure


def search_cost(c: Comparison) -> Figure | None:
    curves = c.curves
    if curves.empty or not np.isfinite(curves["score"].to_numpy(dtype=float)).any():
        return None
    hours = curves["device_hours"].to_numpy(dtype=float)
    top = np.nanmax(hours) if hours.size else 0.0
    unit, factor = (
        ("device-hours", 1.0) if top >= 2 else ("device-minutes", 60.0) if top * 60 >= 2 else ("device-seconds", 3600.0)
    )
    scale = 100.0 if c.metric.percent else 1.0
    figure, axes = _figure(7.0, 4.6)
    tuned = curves[(curves["strategy"] == "tuned") & curves["score"].notna()]
    if not tuned.empty:
        axes.step(
            tuned["device_hours"] * factor,
            tuned["score"] * scale,
            where="post",
            color=COLORS["tuned"],
            label="tuned: best-so-far (mean over architectures)",
        )
    for strategy in ("principled", "fixed"):
        point = curves[(curves["strategy"] == strategy) & curves["score"].notna()]
        if point.empty:
            continue
        x, y = float(point["device_hours"].iloc[0]) * factor, float(point["score"].iloc[0]) * scale
        axes.scatter(
            [x],
            [y],
            color=COLORS[strategy],
            marker=MARKERS[strategy],
            s=70,
            zorder=4,
            label=f"{strategy}: final runs (search = base-LR search)" if x > 0 else f"{strategy}: final runs",
        )
        if strategy == "principled":
            axes.axhline(y, color=COLORS[strategy], linestyle=":", linewidth=1)
    val = "validation accuracy (%)" if c.metric.percent else c.metric.val_column.replace("_", " ")
    axes.set_xlabel(f"cumulative search cost ({unit})")
    axes.set_ylabel(f"{val}, mean over architectures")
    axes.set_title(f"{c.study}: search cost vs best validation score")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def rank_shift(c: Comparison) -> Figure | None:
    pair = next(
        (
            (a, b)
            for a, b in (("principled", "tuned"), ("principled", "fixed"), ("tuned", "fixed"))
            if a in c.strategies and b in c.strategies
        ),
        None,
    )
    if pair is None:
        return None
    a, b = pair
    pa = c.per_architecture
    ra, rb = pa[f"{b}_rank"].to_numpy(dtype=float), pa[f"{a}_rank"].to_numpy(dtype=float)
    keep = np.isfinite(ra) & np.isfinite(rb)
    if keep.sum() < 2:
        return None
    n = int(keep.sum())
    figure, axes = _figure(6.0, max(3.5, 0.32 * n + 1.8))
    labels = pa["label"].to_numpy()[keep]
    for left, right, label in zip(ra[keep], rb[keep], labels, strict=True):
        moved = abs(left - right) >= 1
        color = COLORS[a] if right < left else COLORS["tuned"] if right > left else "#555555"
        axes.plot([0, 1], [left, right], color=color if moved else "#999999", marker="o", linewidth=1.5 if moved else 1)
        if n <= 40:
            axes.annotate(
                label, (0, left), xytext=(-6, 0), textcoords="offset points", ha="right", va="center", fontsize=7
            )
            axes.annotate(
                label, (1, right), xytext=(6, 0), textcoords="offset points", ha="left", va="center", fontsize=7
            )
    axes.set_xlim(-0.6, 1.6)
    axes.set_ylim(n + 0.5, 0.5)
    axes.set_xticks([0, 1], [f"rank under {b}", f"rank under {a}"])
    axes.set_ylabel("rank (1 = best)")
    tau = c.row(f"rank.kendall.{a}-{b}")
    extra = f" (Kendall τ = {tau['value']:.2f})" if tau is not None and math.isfinite(tau["value"]) else ""
    axes.set_title(f"{c.study}: rank shift, {b} → {a}{extra}")
    axes.grid(False)
    return figure
