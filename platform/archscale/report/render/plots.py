"""The comparison's pictures as PNG bytes (matplotlib's Agg canvas, no pyplot global state).

- `learning_rates`: per pair with an arm that searches each architecture, its LR vs the other arm's;
- `probe`: predicted vs probed maximal LR per probe arm, and `probe_depth`: probed LR vs depth;
- `accuracy`: the metric per architecture per arm with its 95% interval;
- `search_cost`: best-so-far validation score vs cumulative search device time per arm and repeat;
- `cost_to_match`: an arm's score after k search trials vs the paired arm's final mean;
- `rank_shift`: a slope chart of the architectures' ranks under the two arms of the first pair;
- `benchmark_accuracy`, `benchmark_rankings`, `benchmark_gaps`: against an imported benchmark (Fig. 4):
  accuracy per cell, Kendall τ per top K% with the seed-vs-seed noise floor, pairwise accuracy gaps.

Colours and markers follow the arm's position in the plan, so an arm looks the same in every picture.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np

from archscale.report.frames.study import pair_key
from archscale.report.render.display import compared_pairs, units
from archscale.report.statistics.cost import mean_match_curve
from archscale.report.statistics.stats import power_law_scale
from archscale.report.statistics.summary import EXPECTED_DEPTH_EXPONENT

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from archscale.report.claims.comparison import Comparison

PALETTE = ("#1f77b4", "#d62728", "#7f7f7f", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MARKER_CYCLE = ("o", "s", "^", "D", "v", "P", "X", "<", ">")
DPI = 110
MAX_POINT_LABELS = 20


def color(c: Comparison, arm: str) -> str:
    return PALETTE[_position(c, arm) % len(PALETTE)]


def marker(c: Comparison, arm: str) -> str:
    return MARKER_CYCLE[_position(c, arm) % len(MARKER_CYCLE)]


def _position(c: Comparison, arm: str) -> int:
    arms = c.plan.arms.sort_values("position", kind="stable")["arm"].tolist()
    return arms.index(arm) if arm in arms else len(arms)


def figures(c: Comparison) -> dict[str, bytes]:
    """Every picture that applies to this comparison, by name (PNG bytes), in display order."""
    out: dict[str, bytes] = {}
    for name, draw in (
        ("learning_rates", learning_rates),
        ("probe", probe),
        ("probe_depth", probe_depth),
        ("accuracy", accuracy),
        ("search_cost", search_cost),
        ("cost_to_match", cost_to_match),
        ("rank_shift", rank_shift),
        ("benchmark_accuracy", benchmark_accuracy),
        ("benchmark_rankings", benchmark_rankings),
        ("benchmark_gaps", benchmark_gaps),
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


def _identity(axes: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """The y = x line over the positive finite points, equal log axes."""
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
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


def _lr_pairs(c: Comparison) -> list[tuple[str, str]]:
    """(searching arm, other arm) for each pair with LR statistics (an arm that searches each architecture)."""
    searching = {str(r["arms"]) for r in c.summary.to_dict("records") if str(r["key"]).startswith("lr.slope.")}
    out = []
    for a, b in c.plan.pairs:
        if c.row(f"lr.spearman.{pair_key(a, b)}") is not None:
            out.append((a, b) if a in searching else (b, a))
    return out


def learning_rates(c: Comparison) -> Figure | None:
    pa = c.per_architecture
    pairs = [
        (y, x)
        for y, x in _lr_pairs(c)
        if _pairs(pa[f"{x}_lr"].to_numpy(dtype=float), pa[f"{y}_lr"].to_numpy(dtype=float))
    ]
    if not pairs:
        return None
    figure, axes = _figure()
    xs, ys, text = [], [], []
    for y, x in pairs:
        xv, yv = pa[f"{x}_lr"].to_numpy(dtype=float), pa[f"{y}_lr"].to_numpy(dtype=float)
        _scatter_log(axes, xv, yv, pa["label"].tolist(), color(c, y), f"{y} (y) vs {x} (x)")
        xs.append(xv)
        ys.append(yv)
        a, b = (x, y) if (x, y) in c.plan.pairs else (y, x)
        stat = _stat_text(c, [(f"lr.spearman.{pair_key(a, b)}", f"{y} vs {x}: Spearman ρ")])
        text += [stat] if stat else []
    _identity(axes, np.concatenate(xs), np.concatenate(ys))
    axes.set_xlabel("LR of the paired arm")
    axes.set_ylabel("LR found by the per-architecture search")
    axes.set_title(f"{c.study}: searched vs paired learning rate")
    _annotate(axes, "\n".join(text))
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
    text = []
    for arm, mine in p.groupby("arm", sort=False):
        labels = [f"{lab} (base)" if b else lab for lab, b in zip(mine["label"], mine["is_base"], strict=True)]
        x, y = mine["predicted_lr"].to_numpy(dtype=float), mine["probed_lr"].to_numpy(dtype=float)
        _scatter_log(axes, x, y, labels, color(c, str(arm)), f"{arm}: architecture")
        text.append(
            _stat_text(
                c,
                [
                    (f"probe.pearson_raw.{arm}", "Pearson r (with base)"),
                    (f"probe.pearson_raw_without_base.{arm}", "Pearson r (without base)"),
                    (f"probe.pearson_log.{arm}", "Pearson r (log)"),
                ],
            )
        )
        row = c.row(f"probe.pearson_raw.{arm}")
        if row is not None and math.isfinite(row["expected"]):
            text.append(f"paper: r = {row['expected']:g}")
    _identity(axes, p["predicted_lr"].to_numpy(dtype=float), p["probed_lr"].to_numpy(dtype=float))
    axes.set_xlabel("predicted maximal LR (base's probed LR × scale)")
    axes.set_ylabel("probed maximal LR (lowest training-loss criterion)")
    axes.set_title(f"{c.study}: predicted vs probed maximal learning rate")
    _annotate(axes, "\n".join(t for t in text if t))
    return figure


def probe_depth(c: Comparison) -> Figure | None:
    p = c.probe
    if p is None:
        return None
    chains = p[p["depth"].notna() & np.isfinite(p["probed_lr"].to_numpy(dtype=float))]
    arms = [str(a) for a, group in chains.groupby("arm", sort=False) if group["depth"].nunique() >= 2]
    if not arms:
        return None
    figure, axes = _figure()
    for arm in arms:
        mine = chains[chains["arm"] == arm]
        depth, probed = mine["depth"].to_numpy(dtype=float), mine["probed_lr"].to_numpy(dtype=float)
        axes.scatter(depth, probed, color=color(c, arm), zorder=3, label=f"{arm}: probed maximal LR")
        grid = np.geomspace(depth.min(), depth.max(), 50)
        row = c.row(f"probe.depth_exponent.{arm}")
        if row is not None and math.isfinite(row["value"]):
            axes.plot(
                grid,
                power_law_scale(depth, probed, row["value"]) * grid ** row["value"],
                color=color(c, arm),
                label=f"fit: LR ∝ L^{row['value']:.2f}",
            )
        anchor = power_law_scale(depth, probed, EXPECTED_DEPTH_EXPONENT)
        axes.plot(
            grid,
            anchor * grid**EXPECTED_DEPTH_EXPONENT,
            color="black",
            linestyle="--",
            linewidth=1,
            label="paper: LR ∝ L^-1.5",
        )
    _log_axes(axes)
    axes.set_xlabel("depth L (layers on the path, S = L³)")
    axes.set_ylabel("probed maximal LR")
    axes.set_title(f"{c.study}: maximal learning rate vs depth (chains)")
    axes.legend(fontsize=8)
    return figure


def accuracy(c: Comparison) -> Figure | None:
    pa = c.per_architecture
    arms = [arm for arm in c.arms if pa[f"{arm}_n"].gt(0).any()]
    if not arms or pa.empty:
        return None
    order = np.argsort(pa["S"].to_numpy(dtype=float), kind="stable")
    n = len(pa)
    figure, axes = _figure(max(6.4, 0.55 * n + 2.5), 4.8)
    offsets = np.linspace(-0.25, 0.25, len(arms)) if len(arms) > 1 else [0.0]
    scale = 100.0 if c.metric.percent else 1.0
    for arm, offset in zip(arms, offsets, strict=True):
        mean = pa[f"{arm}_mean"].to_numpy(dtype=float)[order] * scale
        lo = pa[f"{arm}_ci_lo"].to_numpy(dtype=float)[order] * scale
        hi = pa[f"{arm}_ci_hi"].to_numpy(dtype=float)[order] * scale
        errors = np.vstack([np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)])
        axes.errorbar(
            np.arange(n) + offset,
            mean,
            yerr=errors,
            fmt=marker(c, arm),
            color=color(c, arm),
            capsize=3,
            label=c.label(arm),
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
    axes.set_title(
        f"{c.study}: final {c.metric.label} per arm (mean; 95% t interval over {units(c)}, within [0, 100]%)"
        if c.metric.percent
        else f"{c.study}: final {c.metric.label} per arm (mean; 95% t interval over {units(c)})"
    )
    axes.legend(fontsize=8)
    return figure


def _time_unit(hours: np.ndarray) -> tuple[str, float]:
    top = np.nanmax(hours) if hours.size else 0.0
    if top >= 2:
        return "device-hours", 1.0
    return ("device-minutes", 60.0) if top * 60 >= 2 else ("device-seconds", 3600.0)


def search_cost(c: Comparison) -> Figure | None:
    curves = c.curves
    if curves.empty or not np.isfinite(curves["score"].to_numpy(dtype=float)).any():
        return None
    unit, factor = _time_unit(curves["device_hours"].to_numpy(dtype=float))
    scale = 100.0 if c.metric.percent else 1.0
    figure, axes = _figure(7.0, 4.6)
    searched = curves[(curves["kind"] == "search") & curves["score"].notna()]
    for (arm, repeat), line in searched.groupby(["arm", "repeat"], sort=False):
        axes.step(
            line["device_hours"] * factor,
            line["score"] * scale,
            where="post",
            color=color(c, str(arm)),
            alpha=1.0 if repeat == 0 else 0.45,
            label=f"{arm}: best-so-far (mean over architectures)" if repeat == 0 else None,
        )
    for point in curves[(curves["kind"] == "final") & curves["score"].notna()].to_dict("records"):
        arm = str(point["arm"])
        x, y = float(point["device_hours"]) * factor, float(point["score"]) * scale
        axes.scatter([x], [y], color=color(c, arm), marker=marker(c, arm), s=70, zorder=4, label=f"{arm}: final runs")
        axes.axhline(y, color=color(c, arm), linestyle=":", linewidth=1)
    val = "validation accuracy (%)" if c.metric.percent else c.metric.val_column.replace("_", " ")
    axes.set_xlabel(f"cumulative search cost per repeat ({unit})")
    axes.set_ylabel(f"{val}, mean over architectures")
    axes.set_title(f"{c.study}: search cost vs best validation score")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def cost_to_match(c: Comparison) -> Figure | None:
    curves = c.match_curves
    if curves.empty or not np.isfinite(curves["score"].to_numpy(dtype=float)).any():
        return None
    scale = 100.0 if c.metric.percent else 1.0
    figure, axes = _figure(7.0, 4.6)
    for (arm, against), mine in curves.groupby(["arm", "against"], sort=False):
        for _, line in mine.groupby("repeat"):
            axes.step(line["k"], line["score"] * scale, where="post", color=color(c, str(arm)), alpha=0.35, linewidth=1)
        mean = mean_match_curve(mine)
        axes.step(
            mean.index,
            mean.to_numpy() * scale,
            where="post",
            color=color(c, str(arm)),
            linewidth=2,
            label=f"{arm}: after k trials (mean over repeats)"
            if mine["repeat"].nunique() > 1
            else f"{arm}: after k trials",
        )
        target = float(mine["target"].mean()) * scale
        axes.axhline(
            target, color=color(c, str(against)), linestyle="--", linewidth=1.2, label=f"{against}: final mean"
        )
    axes.set_xlabel("search trials per architecture (k, in Optuna's trial order)")
    axes.set_ylabel(f"{c.metric.label}{' (%)' if c.metric.percent else ''}, mean over architectures")
    axes.set_title(f"{c.study}: cost to match (estimated from search trials)")
    axes.legend(fontsize=8, loc="lower right")
    return figure


def rank_shift(c: Comparison) -> Figure | None:
    pairs = compared_pairs(c)
    if not pairs:
        return None
    a, b = pairs[0]
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
        shade = color(c, a) if right < left else color(c, b) if right > left else "#555555"
        axes.plot([0, 1], [left, right], color=shade if moved else "#999999", marker="o", linewidth=1.5 if moved else 1)
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
    tau = c.row(f"rank.kendall.{pair_key(a, b)}")
    extra = f" (Kendall τ = {tau['value']:.2f})" if tau is not None and math.isfinite(tau["value"]) else ""
    axes.set_title(f"{c.study}: rank shift, {b} → {a}{extra}")
    axes.grid(False)
    return figure


def benchmark_accuracy(c: Comparison) -> Figure | None:
    b = c.benchmark
    if b is None:
        return None
    figure, axes = _figure()
    bench = b.cells["benchmark"].to_numpy(dtype=float) * 100
    shown = [bench]
    for arm in c.arms:
        values = b.cells[arm].to_numpy(dtype=float) * 100
        keep = np.isfinite(values) & np.isfinite(bench)
        axes.scatter(bench[keep], values[keep], color=color(c, arm), marker=marker(c, arm), s=28, label=c.label(arm))
        shown.append(values[keep])
    points = np.concatenate(shown)
    points = points[np.isfinite(points)]
    if points.size:
        low, high = float(points.min()), float(points.max())
        pad = max((high - low) * 0.05, 0.5)
        axes.plot([low - pad, high + pad], [low - pad, high + pad], color="black", linestyle="--", linewidth=1)
    text = "\n".join(
        f"{r['arm']} − {b.benchmark}: {r['diff'] * 100:+.2f} pp (n={r['n']})"
        for r in b.accuracy.to_dict("records")
        if math.isfinite(r["diff"])
    )
    axes.set_xlabel(f"{b.benchmark} test accuracy (%), {b.dataset}, {b.epochs} epochs")
    axes.set_ylabel("arm's test accuracy (%)")
    axes.set_title(f"{c.study}: accuracy per cell vs {b.benchmark}")
    _annotate(axes, text)
    return figure


def benchmark_rankings(c: Comparison) -> Figure | None:
    b = c.benchmark
    if b is None or not np.isfinite(b.rankings["kendall_tau"].to_numpy(dtype=float)).any():
        return None
    figure, axes = _figure(7.0, 4.6)
    for arm, group in b.rankings.groupby("arm", sort=False):
        axes.plot(
            [str(p) for p in group["top_percent"]],
            group["kendall_tau"].to_numpy(dtype=float),
            color=color(c, str(arm)),
            marker=marker(c, str(arm)),
            label=f"{c.label(str(arm))} vs {b.benchmark}",
        )
    noise = b.noise()
    if len(noise):
        axes.plot(
            [str(p) for p in noise["top_percent"]],
            noise["kendall_tau"].to_numpy(dtype=float),
            color="black",
            linestyle="--",
            marker=".",
            label=f"{b.benchmark} seed vs seed (noise floor)",
        )
    axes.set_xlabel(f"top K% of the cells by {b.benchmark} accuracy")
    axes.set_ylabel("Kendall τ")
    axes.set_title(f"{c.study}: ranking agreement with {b.benchmark} ({b.dataset})")
    axes.legend(fontsize=8)
    return figure


def benchmark_gaps(c: Comparison) -> Figure | None:
    b = c.benchmark
    if b is None or b.gaps.empty:
        return None
    figure, axes = _figure(7.0, 4.6)
    first = b.gaps[b.gaps["arm"] == b.gaps["arm"].iloc[0]]
    series = [(f"{b.benchmark}", first["benchmark_gap"].to_numpy(dtype=float) * 100, "black")]
    for arm, group in b.gaps.groupby("arm", sort=False):
        series.append((c.label(str(arm)), np.abs(group["arm_gap"].to_numpy(dtype=float)) * 100, color(c, str(arm))))
    top = max(float(np.nanmax(v)) if v.size else 0.0 for _, v, _ in series)
    bins = np.linspace(0.0, max(top, 1e-6), 30)
    for label, values, shade in series:
        axes.hist(values, bins=bins, histtype="step", linewidth=1.6, color=shade, label=label)
    axes.set_xlabel("|accuracy gap| between two cells (pp)")
    axes.set_ylabel("pairs of cells")
    axes.set_title(f"{c.study}: pairwise accuracy gaps ({b.dataset})")
    axes.legend(fontsize=8)
    return figure
