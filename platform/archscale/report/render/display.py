"""Human-readable forms of a Comparison's frames (strings), shared by the table, markdown and HTML
renderers: number formats, the per-architecture table, the summary lines and the section tables.
Everything is per arm and per pair, in the plan's order."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.frames.study import COLLAPSE_FACTOR, pair_key, short_label
from archscale.report.statistics import stats
from archscale.report.statistics.cost import matched_pairs_of
from archscale.report.statistics.per_architecture import calls_m

if TYPE_CHECKING:
    from archscale.report.claims.comparison import Comparison

DASH = "—"
OUTCOME_WORDS = (
    ("wins", "win"),
    ("inconclusive", "inconclusive"),
    ("losses", "loss"),
    ("undecided", "undecided"),
)
UNIT_WORDS = {
    stats.SEEDS_LEVEL: "seeds",
    stats.REPEATS_LEVEL: "search repeats",
    stats.ARCHITECTURES_LEVEL: "architectures",
}
LEVEL_LINES = {
    stats.SEEDS_LEVEL: "at these searched LRs",
    stats.REPEATS_LEVEL: "search luck included",
    stats.ARCHITECTURES_LEVEL: "across architectures like these",
}


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


def method(row: dict[str, Any]) -> str:
    """How a summary row's interval was computed, with its n (empty for values that are not estimates)."""
    if not row["method"] or row["method"] == stats.POINT:
        return ""
    return f"{row['method']}, n={row['n']}"


def score(c: Comparison, mean: float, std: float, n: int, sep: str = " ± ") -> str:
    """`mean ± std` in the metric's display unit (— without runs; no ± for one run)."""
    if not n or not math.isfinite(mean):
        return DASH
    text = c.metric.show(mean)
    return f"{text}{sep}{c.metric.show(std)}" if math.isfinite(std) else text


def plural(count: float, word: str, many: str | None = None) -> str:
    return f"{count:g} {word if count == 1 else many or word + 's'}"


def signed(c: Comparison, value: float) -> str:
    if not math.isfinite(value):
        return DASH
    text = c.metric.show(abs(value))
    return f"{'+' if value >= 0 else '-'}{text}{c.metric.diff_unit}"


def compared_pairs(c: Comparison) -> list[tuple[str, str]]:
    """The plan's pairs whose arms both have final runs."""
    return [(a, b) for a, b in c.plan.pairs if a in c.arms and b in c.arms]


def units(c: Comparison) -> str:
    return "search repeats" if c.repeats > 1 else "seeds"


# --- tables -------------------------------------------------------------------------------------


STACKED_ARMS = 3
"""Above this many arms, the terminal table stacks each arm's score over its LR in one column headed
by the arm's name (the title says which metric)."""


def architecture_table(c: Comparison, full: bool = True, narrow: bool = False) -> pd.DataFrame:
    """One row per architecture: label, S, LR and score per arm, the outcome per pair; `full` adds
    parameters, paths, LR ratios, paired differences with their intervals, search cost, cost to match
    and notes; `narrow` (terminal under 100 columns) uses two-line headers and shorter labels."""
    pa = c.per_architecture
    labels = pa["label"].tolist()
    if narrow:
        labels = [short_label(lab, "", 16) for lab in labels]
    nl = "\n" if not full else " "
    out: dict[str, list[str]] = {"architecture": labels}
    if full:
        out["params"] = [num(v, ",") if pd.notna(v) else DASH for v in pa["parameters"]]
        out["paths"] = [num(v, ".0f") for v in pa["paths"]]
    out["S"] = [num(v, ".4g") for v in pa["S"]]
    unit = f" ({c.metric.unit})" if c.metric.unit else ""
    sep = "±" if narrow else " ± "
    scores = {
        arm: [
            score(c, m, sd, n, sep)
            for m, sd, n in zip(pa[f"{arm}_mean"], pa[f"{arm}_std"], pa[f"{arm}_n"], strict=True)
        ]
        for arm in c.arms
    }
    if not full and len(c.arms) > STACKED_ARMS:  # a terminal table this wide: one column per arm, score over LR
        for arm in c.arms:
            header = arm.replace("-", "-\n")
            out[header] = [f"{s}\n@ {lr(v)}" for s, v in zip(scores[arm], pa[f"{arm}_lr"], strict=True)]
    else:
        for arm in c.arms:
            out[f"LR{nl}{arm}"] = [lr(v) for v in pa[f"{arm}_lr"]]
        for arm in c.arms:
            out[f"{arm}{unit}" if full else f"{c.metric.name.replace('_', ' ')}{nl}{arm}"] = scores[arm]
    for a, b in compared_pairs(c):
        key = pair_key(a, b)
        if full:
            out[f"{a} − {b}"] = [
                f"{signed(c, d)} {interval(lo, hi, lambda v: signed(c, v))}".strip()
                for d, lo, hi in zip(pa[f"{key}_diff"], pa[f"{key}_lo"], pa[f"{key}_hi"], strict=True)
            ]
        if full or not narrow:
            stacked = len(c.arms) > STACKED_ARMS
            out[f"{a}\nvs {b.replace('-', '-' + nl)}" if stacked else f"{a} vs{nl}{b}"] = [
                v or DASH for v in pa[f"{key}_outcome"]
            ]
    if full:
        for arm in c.arms:
            out[f"search {arm}"] = [
                f"{num(t, '.3g')} tr · {duration(d)}"
                for t, d in zip(pa[f"{arm}_search_trials"], pa[f"{arm}_search_device_s"], strict=True)
            ]
        for arm, against in matched_pairs_of(c.match):
            key = pair_key(arm, against)
            out[f"{arm} trials to match {against}"] = [
                num(v, ".3g") if math.isfinite(v) else "not matched" for v in pa[f"{key}_match_trials"]
            ]
        out["notes"] = [n or "" for n in pa["notes"]]
    return pd.DataFrame(out)


def summary_table(c: Comparison) -> pd.DataFrame:
    """statistic | value | 95% interval | method | paper, one row per summary statistic."""
    rows = []
    for r in c.summary.to_dict("records"):
        show = _shower(c, r)
        rows.append(
            {
                "section": r["section"],
                "statistic": r["statistic"],
                "value": show(r["value"]),
                "95% interval": interval(r["lo"], r["hi"], show)
                or ("none" if r["method"] == stats.NO_INTERVAL else ""),
                "method": method(r) or f"n={r['n']}",
                "paper": num(r["expected"], "g"),
            }
        )
    return pd.DataFrame(rows, columns=["section", "statistic", "value", "95% interval", "method", "paper"])


def _shower(c: Comparison, row: dict[str, Any]) -> Any:
    key, unit = row["key"], row["unit"]
    if key.startswith("accuracy.diff."):
        return lambda v: signed(c, v)
    if key.startswith("accuracy.mean."):
        return lambda v: f"{c.metric.show(v)}{c.metric.unit}" if math.isfinite(v) else DASH
    if unit in ("architectures", "repeats"):
        return lambda v: num(v, "g")
    if unit == "device-hours":
        return lambda v: duration(v * 3600)
    if unit == "device-seconds":
        return duration
    if unit == "ratio":
        return lambda v: f"×{v:.2f}" if math.isfinite(v) else DASH
    if unit == "trials":
        return lambda v: num(v, ".3g")
    return lambda v: num(v, ".3f")


def rankings_table(c: Comparison) -> pd.DataFrame:
    r = c.rankings
    return pd.DataFrame(
        {
            "pair": [f"{a} vs {b}" for a, b in zip(r["a"], r["b"], strict=True)],
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
            "arm": k["arm"],
            "search trials": [
                f"{t:g} ({p:g} pruned, {d:g} diverged)" if p or d else f"{t:g}"
                for t, p, d in zip(k["search_trials"], k["search_pruned"], k["search_diverged"], strict=True)
            ],
            "search epochs": [f"{v:g}" for v in k["search_epochs"]],
            "search device time": [duration(v) for v in k["search_device_s"]],
            "per architecture": [duration(v) for v in k["search_device_s_per_architecture"]],
            "final runs": [
                f"{t:g} ({d:g} diverged)" if d else f"{t:g}"
                for t, d in zip(k["final_trials"], k["final_diverged"], strict=True)
            ],
            "final device time": [duration(v) for v in k["final_device_s"]],
            "total device-hours": [num(v, ".4f") for v in k["total_device_h"]],
            "note": k["note"],
        }
    )


def budgets_table(c: Comparison) -> pd.DataFrame:
    """The searches grouped by phase, arms, scope and budget: how many, on what, with which budget."""
    s = c.searches
    columns = ["phase", "arms", "scope", "budget_trials", "sampler", "low", "high", "early_stopping", "init", "epochs"]
    rows = []
    for keys, group in s.groupby(columns, sort=False, dropna=False):
        spec = dict(zip(columns, keys, strict=True))
        rows.append(
            {
                "arms": spec["arms"],
                "phase": spec["phase"],
                "searches": f"{group['graph_hash'].nunique()} arch. × {group['repeat'].nunique()} rep.",
                "scope": spec["scope"],
                "trials": num(spec["budget_trials"], "g"),
                "sampler": spec["sampler"],
                "LR range": f"[{num(spec['low'], 'g')}, {num(spec['high'], 'g')}]",
                "early stopping": spec["early_stopping"],
                "init": spec["init"],
                "epochs": num(spec["epochs"], "g"),
                "ran": f"{int(group['trials'].sum())} trials ({int(group['pruned'].sum())} pruned)",
            }
        )
    return pd.DataFrame(rows)


def searches_table(c: Comparison) -> pd.DataFrame:
    """Every search: architecture, repeat, arms, budget, what ran and the LR it chose."""
    s = c.searches
    return pd.DataFrame(
        {
            "search": s["search"],
            "architecture": s["label"],
            "repeat": [str(v) for v in s["repeat"]],
            "arms": s["arms"],
            "budget": [
                f"{num(t, 'g')} trials, {sp}, [{num(lo, 'g')}, {num(hi, 'g')}], early stopping {es}"
                for t, sp, lo, hi, es in zip(
                    s["budget_trials"], s["sampler"], s["low"], s["high"], s["early_stopping"], strict=True
                )
            ],
            "ran": [
                f"{t} ({p} pruned, {d} diverged, {f} failed)"
                for t, p, d, f in zip(s["trials"], s["pruned"], s["diverged"], s["failed"], strict=True)
            ],
            "device time": [duration(v) for v in s["device_s"]],
            "chosen LR": [lr(v) for v in s["chosen_lr"]],
        }
    )


def probe_table(c: Comparison) -> pd.DataFrame | None:
    p = c.probe
    if p is None:
        return None
    out = pd.DataFrame(
        {
            "architecture": [f"{lab} (base)" if b else lab for lab, b in zip(p["label"], p["is_base"], strict=True)],
            "paths": [num(v, ".0f") for v in p["paths"]],
            "S": [num(v, ".4g") for v in p["S"]],
            "depth L": [num(v, ".0f") for v in p["depth"]],
            "predicted max LR": [lr(v) for v in p["predicted_lr"]],
            "probed max LR": [lr(v) for v in p["probed_lr"]],
            "within seed noise": [
                f"[{lr(a)}, {lr(b)}]" if math.isfinite(a) else DASH
                for a, b in zip(p["probed_lr_lo"], p["probed_lr_hi"], strict=True)
            ],
            "probed ÷ predicted": [num(v, ".2f") for v in p["ratio"]],
            "criterion": [num(v, ".3f") for v in p["best_score"]],
            "runs": [
                f"{r} ({d} diverged)" if d else str(r) for r, d in zip(p["runs"], p["diverged_runs"], strict=True)
            ],
        }
    )
    if p["arm"].nunique() > 1:
        out.insert(0, "arm", p["arm"].to_numpy())
    return out


# --- summary lines ------------------------------------------------------------------------------


def _effect(c: Comparison, a: str, b: str) -> str:
    match = c.pairs[(c.pairs["a"] == a) & (c.pairs["b"] == b)]
    return str(match["effect"].iloc[0]) if len(match) else "the arms' differences"


def level_of(varies: str) -> str:
    """The level of an interval by the broadest factor it resamples (`varies`, comma-separated)."""
    factors = set(varies.split(","))
    if stats.ARCHITECTURE in factors:
        return stats.ARCHITECTURES_LEVEL
    return stats.REPEATS_LEVEL if stats.REPEAT in factors else stats.SEEDS_LEVEL


def population(row: dict[str, Any]) -> str:
    """`t, n=5 architectures; fixed: …` for a summary row of an accuracy difference."""
    fixed = f"; fixed: {row['fixed'].replace(',', ', ')}" if row["fixed"] else ""
    return f"{row['method']}, n={row['n']} {UNIT_WORDS[level_of(str(row['varies']))]}{fixed}"


def _pair_lines(c: Comparison, a: str, b: str) -> list[tuple[str, str]]:
    """The pair's headline (its broadest level, worded as what it covers), then each level's line."""
    key = pair_key(a, b)
    head = c.row(f"accuracy.diff.{key}")
    if head is None:
        return []
    show = lambda v: signed(c, v).removesuffix(c.metric.diff_unit)  # noqa: E731
    counts = {word: int(c.stat(f"accuracy.{word}.{key}")) for word, _ in OUTCOME_WORDS}
    tally = ", ".join(
        plural(counts[word], one, word) if word != "inconclusive" else f"{counts[word]:g} inconclusive"
        for word, one in OUTCOME_WORDS
        if counts[word] or word != "undecided"
    )
    varies = str(head["varies"]).split(",")
    luck = (
        "no search luck: neither LR comes from a repeated search"
        if c.plan.search_repeats > 1
        else "search luck not included: set search_repeats ≥ 2"
    )
    effect = f"effect of {_effect(c, a, b)}" if stats.REPEAT in varies else f"differing in {_effect(c, a, b)}; {luck}"
    where = " across architectures like these" if stats.ARCHITECTURE in varies else ""
    heading = "accuracy" if c.metric.percent else c.metric.label
    m = calls_m(c.per_architecture, compared_pairs(c))
    lines = [
        (
            heading,
            f"{a} − {b}{where} ({effect}): {signed(c, head['value'])} {interval(head['lo'], head['hi'], show)} "
            f"({population(head)}); per architecture {tally} (Holm-adjusted, m={m})".replace("  ", " "),
        )
    ]
    for level in stats.LEVELS:
        row = c.row(f"accuracy.diff.{level}.{key}")
        if row is None or level == level_of(str(head["varies"])):
            continue
        text = f"{interval(row['lo'], row['hi'], show)} ({population(row)})" if math.isfinite(row["lo"]) else DASH
        lines.append(("", f"  {LEVEL_LINES[level]}: {signed(c, row['value'])} {text}"))
    return lines


def summary_lines(c: Comparison) -> list[tuple[str, str]]:
    """(heading, text) lines with the key results, for the terminal and the top of the reports."""
    lines: list[tuple[str, str]] = []
    for a, b in compared_pairs(c):
        lines += _pair_lines(c, a, b)
    for failure in ("diverged", "collapsed"):
        rates = [(arm, c.row(f"accuracy.{failure}.{arm}")) for arm in c.arms]
        shown = [f"{arm} {r['value']:.0%}" for arm, r in rates if r is not None and math.isfinite(r["value"])]
        if shown and any(c.stat(f"accuracy.{failure}.{arm}") > 0 for arm in c.arms):
            score_text = (
                f"{c.metric.show(c.diverged_score)}{c.metric.unit}" if math.isfinite(c.diverged_score) else "left out"
            )
            lines.append((failure, f"final runs {failure}: {', '.join(shown)} (scored {score_text})"))
    if len(c.cost):
        per = " per repeat" if c.repeats > 1 else ""
        parts = [
            f"{r['arm']} {duration(r['search_device_s'])} ({r['search_trials']:g} trials)"
            for r in c.cost.to_dict("records")
        ]
        lines.append(("search cost", f"device time{per}: " + ", ".join(parts)))
    lines += _match_lines(c)
    lines += _lr_lines(c)
    taus = [r for r in c.rankings.to_dict("records") if r["top_percent"] == 100]
    if taus:
        text = ", ".join(f"{r['a']}–{r['b']} {num(r['kendall_tau'], '.2f')}" for r in taus)
        lines.append(("rankings", f"Kendall τ {text} (n={taus[0]['n']})"))
    lines += _probe_lines(c)
    if c.benchmark is not None:
        from archscale.report.render.benchmark import summary_lines as benchmark_lines

        lines += benchmark_lines(c.benchmark)
    lines += [("search budget", line) for line in budget_lines(c)]
    return lines


def _match_lines(c: Comparison) -> list[tuple[str, str]]:
    lines = []
    for arm, against in matched_pairs_of(c.match):
        key = pair_key(arm, against)
        trials, seconds = c.row(f"cost.to_match.trials.{key}"), c.row(f"cost.to_match.device_s.{key}")
        archs = c.row(f"cost.to_match.architectures.{key}")
        if trials is None or seconds is None:
            continue
        if math.isfinite(trials["value"]):
            text = (
                f"{arm}'s search matched {against}'s mean after {num(trials['value'], '.3g')} trials "
                f"{interval(trials['lo'], trials['hi'], lambda v: num(v, '.3g'))} ({method(trials)}), "
                f"{duration(seconds['value'])} per architecture"
            )
        else:
            text = f"{arm}'s search did not match {against}'s mean in every repeat"
        if archs is not None:
            text += f"; matched on {num(archs['value'], '.3g')} of {archs['n']} architectures individually"
        lines.append(("cost to match", text.replace("  ", " ") + " (estimated from search trials)"))
    return lines


def _lr_lines(c: Comparison) -> list[tuple[str, str]]:
    lines = []
    for a, b in c.plan.pairs:
        key = pair_key(a, b)
        rho, r_log = c.row(f"lr.spearman.{key}"), c.row(f"lr.pearson_log.{key}")
        if rho is None or r_log is None:
            continue
        gap = c.stat(f"lr.median_abs_log2_ratio.{key}")
        lines.append(
            (
                "learning rates",
                f"{a} vs {b}: Spearman ρ {_spaced(num(rho['value'], '.2f'), rho)}, "
                f"Pearson r (log) {num(r_log['value'], '.2f')}, median |log2 ratio| {num(gap, '.2f')} (n={rho['n']})",
            )
        )
    for row in c.summary[c.summary["key"].str.startswith("lr.slope.")].to_dict("records"):
        lines.append(
            (
                "",
                f"slope of log {row['arms']} LR on log S: {_spaced(num(row['value'], '.2f'), row)} "
                f"(paper: -0.5; n={row['n']})",
            )
        )
    return lines


def _spaced(text: str, row: dict[str, Any]) -> str:
    """`text` followed by the row's interval, when it has one."""
    shown = interval(row["lo"], row["hi"])
    return f"{text} {shown}" if shown else text


def _probe_lines(c: Comparison) -> list[tuple[str, str]]:
    lines = []
    for arm in c.probe_arms:
        rows = {
            k: c.row(f"probe.{k}.{arm}") for k in ("pearson_raw", "pearson_raw_without_base", "pearson_log", "spearman")
        }
        raw, without, log, rho = rows.values()
        if raw is None or without is None or log is None or rho is None:
            continue
        paper = f", paper {raw['expected']:g}" if math.isfinite(raw["expected"]) else ""
        lines.append(
            (
                "probe",
                f"predicted vs probed maximal LR ({arm}): Pearson r {num(raw['value'], '.3f')} with the base "
                f"(n={raw['n']}{paper}), {num(without['value'], '.3f')} without it (n={without['n']}); "
                f"log r {num(log['value'], '.3f')}; Spearman {num(rho['value'], '.3f')}",
            )
        )
        quirk = c.row(f"probe.pearson_raw_without_quirk.{arm}")
        if quirk is not None:
            lines.append(
                (
                    "",
                    f"without the DAGs whose S the official zero-block quirk sets: Pearson r "
                    f"{num(quirk['value'], '.3f')} (n={quirk['n']})",
                )
            )
        depth = c.row(f"probe.depth_exponent.{arm}")
        if depth is not None:
            lines.append(
                (
                    "",
                    f"probed LR ∝ depth^{num(depth['value'], '.2f')} {interval(depth['lo'], depth['hi'])} "
                    f"(paper: -1.5; n={depth['n']} chains)",
                )
            )
    return lines


def budget_lines(c: Comparison) -> list[str]:
    """One line per distinct search budget: which arms, how many searches, and the budget."""
    lines = []
    for row in budgets_table(c).to_dict("records"):
        lines.append(
            f"{row['arms']} ({row['phase']}, {row['searches']}): {row['trials']} trials, {row['sampler']}, "
            f"LR {row['LR range']}, early stopping {row['early stopping']}, init {row['init']}, {row['epochs']} epochs"
        )
    return lines


SIMULATED = "SIMULATED (archscale run --simulate: a synthetic trainer's metrics, not results of training). "
"""What every report of a simulated study says first."""


def heading(c: Comparison) -> str:
    repeats = f" × {plural(c.repeats, 'search repeat')}" if c.repeats > 1 else ""
    text = (SIMULATED if c.plan.simulated else "") + (
        f"{c.study} ({c.status}): {c.metric.label}{' (%)' if c.metric.percent else ''}, mean ± std over "
        f"{plural(len(c.seeds), 'seed')}{repeats}{' (@ the learning rate)' if len(c.arms) > STACKED_ARMS else ''}; "
        f"{plural(len(c.per_architecture), 'architecture')}. "
    )
    pairs = compared_pairs(c)
    if not pairs:
        return text + "Intervals: 95%; each says its method and n"
    return text + (
        f"Intervals: 95%, paired on (architecture, seed{', repeat' if c.repeats > 1 else ''}); each names its "
        "units (seeds; search repeats, each a mean over its seeds; architectures, each a mean difference) and what it "
        "holds fixed: Student t over the units, Welch t against an arm that runs once (calibrated by simulation); "
        "per architecture: win/inconclusive/loss, Holm-adjusted across the study's "
        f"{calls_m(c.per_architecture, pairs)} calls; failed runs "
        f"(diverged, or collapsed: best validation accuracy ≤ {COLLAPSE_FACTOR:g}× chance) score chance"
    )
