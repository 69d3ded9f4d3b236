"""Human-readable forms of a Comparison's frames (strings), shared by the table, markdown and HTML
renderers: number formats, the per-architecture table, the summary lines and the section tables."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.frames import COMPARED

if TYPE_CHECKING:
    from archscale.report.comparison import Comparison

DASH = "—"
SHORT = {"principled": "princ.", "tuned": "tuned", "fixed": "fixed"}


def num(value: Any, spec: str = ".3g") -> str:
    """A number, or — when missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return DASH
    return format(value, spec)


def lr(value: Any) -> str:
    return num(value, ".3g")


def duration(seconds: float) -> str:
    """Device time in the unit that reads best: s, min or h."""
    if not math.isfinite(seconds):
        return DASH
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def interval(lo: float, hi: float, show: Any = None) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    f = show or (lambda v: f"{v:.2f}")
    return f"[{f(lo)}, {f(hi)}]"


def score(c: Comparison, mean: float, std: float, n: int, sep: str = " ± ") -> str:
    """`mean ± std` in the metric's display unit (— without runs; no ± for one run)."""
    if not n or not math.isfinite(mean):
        return DASH
    text = c.metric.show(mean)
    return f"{text}{sep}{c.metric.show(std)}" if math.isfinite(std) else text


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def signed(c: Comparison, value: float) -> str:
    if not math.isfinite(value):
        return DASH
    text = c.metric.show(abs(value))
    return f"{'+' if value >= 0 else '-'}{text}{c.metric.diff_unit}"


def compared(c: Comparison) -> list[str]:
    return [s for s in COMPARED if s in c.strategies]


# --- tables -------------------------------------------------------------------------------------


def architecture_table(c: Comparison, full: bool = True, narrow: bool = False) -> pd.DataFrame:
    """One row per architecture: label, S, LRs, scores per strategy; `full` adds parameters, paths,
    principled vs tuned/fixed outcomes, search cost and notes; `narrow` (terminal under 100 columns)
    uses two-line headers, shorter labels and no outcome column."""
    pa = c.per_architecture
    strategies = compared(c)
    labels = pa["label"].tolist()
    if narrow:
        from archscale.report.frames import short_label

        labels = [short_label(lab, "", 16) for lab in labels]
    out: dict[str, list[str]] = {"architecture": labels}
    if full:
        out["params"] = [num(v, ",") if pd.notna(v) else DASH for v in pa["parameters"]]
        out["paths"] = [num(v, ".0f") for v in pa["paths"]]
    out["S"] = [num(v, ".4g") for v in pa["S"]]
    for s in ("principled", "tuned", "fixed"):
        if s not in strategies and not (s == "principled" and pa["principled_lr"].notna().any()):
            continue
        out[f"LR{chr(10) if not full else ' '}{SHORT[s]}"] = [lr(v) for v in pa[f"{s}_lr"]]
    if full and "tuned" in strategies:
        out["tuned ÷ princ."] = [num(v, ".2f") for v in pa["lr_ratio"]]
    unit = f" ({c.metric.unit})" if c.metric.unit else ""
    sep = "±" if narrow else " ± "
    for s in strategies:
        name = f"{s}{unit}" if full else f"{c.metric.name.replace('_', ' ')}{chr(10)}{SHORT[s] if narrow else s}"
        out[name] = [
            score(c, m, sd, n, sep) for m, sd, n in zip(pa[f"{s}_mean"], pa[f"{s}_std"], pa[f"{s}_n"], strict=True)
        ]
    for a, b in (("principled", "tuned"), ("principled", "fixed")):
        if a in strategies and b in strategies and (full or (b == "tuned" and not narrow)):
            out[f"P vs {b[0].upper()}" if not full else f"princ. vs {b}"] = [v or DASH for v in pa[f"{a}_vs_{b}"]]
    if full:
        for s in strategies:
            out[f"search {SHORT[s]}"] = [
                f"{num(t, '.3g')} tr · {duration(d)}"
                for t, d in zip(pa[f"{s}_search_trials"], pa[f"{s}_search_device_s"], strict=True)
            ]
        if "tuned" in strategies and "principled" in strategies:
            out["cost to match"] = [duration(v) if math.isfinite(v) else "not reached" for v in pa["cost_to_match_s"]]
        out["notes"] = [n or "" for n in pa["notes"]]
    return pd.DataFrame(out)


def summary_table(c: Comparison) -> pd.DataFrame:
    """statistic | value | 95% interval | n | paper, one row per summary statistic."""
    rows = []
    for r in c.summary.to_dict("records"):
        show = _shower(c, r)
        rows.append(
            {
                "section": r["section"],
                "statistic": r["statistic"],
                "value": show(r["value"]),
                "95% interval": interval(r["lo"], r["hi"], show),
                "n": str(r["n"]),
                "paper": num(r["expected"], "g"),
            }
        )
    return pd.DataFrame(rows, columns=["section", "statistic", "value", "95% interval", "n", "paper"])


def _shower(c: Comparison, row: dict[str, Any]) -> Any:
    key, unit = row["key"], row["unit"]
    if key.startswith("accuracy.diff."):
        return lambda v: signed(c, v)
    if key.startswith("accuracy.mean."):
        return lambda v: f"{c.metric.show(v)}{c.metric.unit}" if math.isfinite(v) else DASH
    if unit == "architectures":
        return lambda v: num(v, ".0f")
    if unit == "device-hours":
        return lambda v: duration(v * 3600)
    if unit == "device-seconds":
        return duration
    if unit == "ratio":
        return lambda v: f"×{v:.2f}" if math.isfinite(v) else DASH
    return lambda v: num(v, ".3f")


def rankings_table(c: Comparison) -> pd.DataFrame:
    r = c.rankings
    return pd.DataFrame(
        {
            "pair": [f"{a} vs {b}" for a, b in zip(r["strategy_a"], r["strategy_b"], strict=True)],
            "top K% (by 2nd)": [f"{p}%" for p in r["top_percent"]],
            "n": [str(n) for n in r["n"]],
            "Kendall τ": [num(v, ".3f") for v in r["kendall_tau"]],
            "Spearman ρ": [num(v, ".3f") for v in r["spearman_rho"]],
            "top overlap": [num(v, ".2f") for v in r["top_overlap"]],
        }
    )


def cost_table(c: Comparison) -> pd.DataFrame:
    k = c.cost
    return pd.DataFrame(
        {
            "strategy": k["strategy"],
            "search trials": [
                f"{t} ({p} pruned, {d} diverged)" if p or d else str(t)
                for t, p, d in zip(k["search_trials"], k["search_pruned"], k["search_diverged"], strict=True)
            ],
            "search epochs": [str(v) for v in k["search_epochs"]],
            "search device time": [duration(v) for v in k["search_device_s"]],
            "per architecture": [duration(v) for v in k["search_device_s_per_architecture"]],
            "final runs": [str(v) for v in k["final_trials"]],
            "final device time": [duration(v) for v in k["final_device_s"]],
            "total device-hours": [num(v, ".4f") for v in k["total_device_h"]],
            "note": k["note"],
        }
    )


def probe_table(c: Comparison) -> pd.DataFrame | None:
    p = c.probe
    if p is None:
        return None
    return pd.DataFrame(
        {
            "architecture": [f"{lab} (base)" if b else lab for lab, b in zip(p["label"], p["is_base"], strict=True)],
            "paths": [num(v, ".0f") for v in p["paths"]],
            "S": [num(v, ".4g") for v in p["S"]],
            "depth L": [num(v, ".0f") for v in p["depth"]],
            "predicted max LR": [lr(v) for v in p["predicted_lr"]],
            "probed max LR": [lr(v) for v in p["probed_lr"]],
            "probed ÷ predicted": [num(v, ".2f") for v in p["ratio"]],
            "train loss": [num(v, ".3f") for v in p["best_score"]],
            "runs": [
                f"{r} ({d} diverged)" if d else str(r) for r, d in zip(p["runs"], p["diverged_runs"], strict=True)
            ],
        }
    )


# --- summary lines ------------------------------------------------------------------------------


def summary_lines(c: Comparison) -> list[tuple[str, str]]:
    """(heading, text) lines with the key results, for the terminal and the top of the reports."""
    lines: list[tuple[str, str]] = []
    for a, b in (("principled", "tuned"), ("principled", "fixed")):
        row = c.row(f"accuracy.diff.{a}-{b}")
        if row is None:
            continue
        w, t, lo_ = (int(c.stat(f"accuracy.{k}.{a}-{b}")) for k in ("wins", "ties", "losses"))
        ci = interval(row["lo"], row["hi"], lambda v: signed(c, v).removesuffix(c.metric.diff_unit))
        lines.append(
            (
                "accuracy" if c.metric.percent else c.metric.label,
                f"{a} − {b}: {signed(c, row['value'])} {ci} over {plural(row['n'], 'architecture')}; "
                f"{plural(w, 'win')}, {plural(t, 'tie')}, {plural(lo_, 'loss', 'losses')}",
            )
        )
    cost = c.cost.set_index("strategy") if len(c.cost) else None
    if cost is not None:
        parts = [
            f"{s} {duration(cost.loc[s, 'search_device_s'])} ({cost.loc[s, 'search_trials']} trials)"
            for s in cost.index
        ]
        ratio = c.stat("cost.search_ratio.tuned-principled")
        tail = f"; tuned ÷ principled ×{ratio:.1f}" if math.isfinite(ratio) else ""
        lines.append(("search cost", "device time: " + ", ".join(parts) + tail))
        reached = c.row("cost.to_match.reached")
        if reached is not None and reached["n"]:
            median = c.stat("cost.to_match.median_s")
            text = (
                f"tuned search reached principled's validation score on {int(reached['value'])} of {reached['n']} "
                "architectures"
            )
            if math.isfinite(median):
                text += f", after a median {duration(median)} of search"
            lines.append(("cost to match", text))
    rho, r_log = c.row("lr.spearman.tuned-principled"), c.row("lr.pearson_log.tuned-principled")
    if rho is not None and r_log is not None:
        gap = c.stat("lr.median_abs_log2_ratio.tuned-principled")
        lines.append(
            (
                "learning rates",
                f"tuned vs principled: Spearman ρ {num(rho['value'], '.2f')} {interval(rho['lo'], rho['hi'])}, "
                f"Pearson r (log) {num(r_log['value'], '.2f')}, median |log2 ratio| {num(gap, '.2f')} (n={rho['n']})",
            )
        )
        fit = c.row("lr.slope.log_tuned-log_S")
        if fit is not None:
            lines.append(
                (
                    "",
                    f"slope of log tuned LR on log S: {num(fit['value'], '.2f')} {interval(fit['lo'], fit['hi'])} "
                    f"(paper: -0.5; n={fit['n']})",
                )
            )
    taus = [r for r in c.rankings.to_dict("records") if r["top_percent"] == 100]
    if taus:
        text = ", ".join(f"{r['strategy_a']}–{r['strategy_b']} {num(r['kendall_tau'], '.2f')}" for r in taus)
        lines.append(("rankings", f"Kendall τ {text} (n={taus[0]['n']})"))
    if c.probe is not None:
        r_raw, r_lg, rho_p = (c.row(f"probe.{k}") for k in ("pearson_raw", "pearson_log", "spearman"))
        assert r_raw is not None and r_lg is not None and rho_p is not None
        paper = f", paper {r_raw['expected']:g}" if math.isfinite(r_raw["expected"]) else ""
        lines.append(
            (
                "probe",
                f"predicted vs probed maximal LR: Pearson r {num(r_raw['value'], '.3f')}{paper}; "
                f"log r {num(r_lg['value'], '.3f')}; Spearman {num(rho_p['value'], '.3f')} (n={r_raw['n']})",
            )
        )
        depth = c.row("probe.depth_exponent")
        if depth is not None:
            lines.append(
                (
                    "",
                    f"probed LR ∝ depth^{num(depth['value'], '.2f')} {interval(depth['lo'], depth['hi'])} "
                    f"(paper: -1.5; n={depth['n']} chains)",
                )
            )
    return lines


def heading(c: Comparison) -> str:
    seeds = len(c.seeds)
    return (
        f"{c.study} ({c.status}): {c.metric.label}{' (%)' if c.metric.percent else ''}, mean ± std over "
        f"{plural(seeds, 'seed')}; {plural(len(c.per_architecture), 'architecture')}. Intervals: 95%, "
        "bootstrap over seeds; tie = intervals overlap"
    )
