"""Probe arms: the empirical maximal LR of each architecture from its LR grid, against the principled
prediction (the paper's Figs. 2, 3 and 5).

Per architecture and seed, an LR's score is the arm's criterion (its `criterion` setting naming an
epoch column: `train_loss`, the epoch-average training loss, or `train_loss_tail`, the mean loss of
the epoch's last steps) at the last epoch; diverged = +inf. The probed maximal LR is the LR with the
lowest mean score over seeds (the largest among equal ones): "the maximal LR which achieves the
smallest training loss after one epoch" (the rule is `archscale.strategies.grid`'s, which the probe
also extends its grids by). Grid points are ordered by LR (an extension's points are numbered after the
grid's); a probed LR still at the lowest or highest LR run (`at_grid_edge`) is `censored`: the true
maximal LR may lie beyond. The predicted maximal LR of an architecture is the base network's probed
LR × its principled scale.

The probed LR comes with its own uncertainty (`within_noise`): the range of grid LRs whose score is not
worse than the best point's by more than the seeds' noise (a paired t interval over seeds of the
difference from the best point contains 0 or lies below it). Near the minimum the criterion is flat, so
the argmin alone can move by a grid step on a rounding difference; the range says how far it may.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from archscale.report.frames.study import Inputs, floats, short_label, unique_labels
from archscale.report.statistics import stats
from archscale.strategies.grid import point_score, probed_max_lr, run_score
from archscale.vocabulary import Phase, TrialStatus

DEFAULT_CRITERION = "train_loss"
GRID_COLUMNS = ["arm", "graph_hash", "label", "grid_index", "lr", "score", "seeds", "diverged"]
PROBE_COLUMNS = [
    "arm",
    "graph_hash",
    "architecture",
    "label",
    "family",
    "paths",
    "S",
    "depth",
    "principled_scale",
    "is_base",
    "quirk",
    "criterion",
    "probed_lr",
    "probed_lr_lo",
    "probed_lr_hi",
    "probed_lr_method",
    "predicted_lr",
    "ratio",
    "best_score",
    "seeds",
    "runs",
    "diverged_runs",
    "at_grid_edge",
    "censored",
]


def criterion(inputs: Inputs, arm: str) -> tuple[str, str]:
    """(the epoch column an arm's probe is scored by, a note when its setting cannot be honoured)."""
    arms = inputs.plan.arms
    settings = arms.loc[arms["arm"] == arm, "settings"]
    wanted = (
        settings.iloc[0].get("criterion", DEFAULT_CRITERION)
        if len(settings) and isinstance(settings.iloc[0], dict)
        else DEFAULT_CRITERION
    )
    epochs = inputs.epochs
    if epochs is not None and wanted in epochs.columns:
        return str(wanted), ""
    return (
        DEFAULT_CRITERION,
        f"probe {arm}: criterion {wanted} is not in the stored epochs; {DEFAULT_CRITERION} is used",
    )


def trial_scores(inputs: Inputs, arm: str, column: str) -> pd.DataFrame:
    """The arm's probe trials that finished (completed or diverged), with their score."""
    trials = inputs.trials
    probe = trials[
        (trials["phase"] == Phase.PROBE)
        & (trials["arm"] == arm)
        & trials["status"].isin([TrialStatus.COMPLETED, TrialStatus.DIVERGED])
    ]
    epochs = inputs.epochs if inputs.epochs is not None else pd.DataFrame(columns=["trial_id", "epoch", column])
    last = epochs.sort_values(["trial_id", "epoch"]).groupby("trial_id", sort=False).tail(1)
    loss = dict(zip(last["trial_id"], floats(last[column]), strict=True))
    scores = [
        run_score(status == TrialStatus.DIVERGED, loss.get(tid))
        for tid, status in zip(probe["id"], probe["status"], strict=True)
    ]
    return probe.assign(score=scores)


def probe_arms(inputs: Inputs) -> list[str]:
    """Arms with probe trials, in the plan's order."""
    have = set(inputs.trials.loc[inputs.trials["phase"] == Phase.PROBE, "arm"])
    arms = inputs.plan.arms.sort_values("position", kind="stable")["arm"]
    return [str(a) for a in arms if a in have]


def probe_frames(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame, list[str]] | None:
    """(per arm and architecture, per grid point, notes), or None without probe trials."""
    arms = probe_arms(inputs)
    if not arms:
        return None
    frames, grids, notes = [], [], []
    for arm in arms:
        column, note = criterion(inputs, arm)
        notes += [note] if note else []
        frame, grid = _arm_frames(inputs, arm, column)
        frames.append(frame)
        grids.append(grid)
    return pd.concat(frames, ignore_index=True), pd.concat(grids, ignore_index=True), notes


def _arm_frames(inputs: Inputs, arm: str, column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    scored = trial_scores(inputs, arm, column)
    archs = inputs.plan.architectures
    archs = archs[archs["graph_hash"].isin(set(scored["graph_hash"]))].sort_values(["S", "position"], kind="stable")
    grid_rows, rows = [], []
    for arch in archs.to_dict("records"):
        h = arch["graph_hash"]
        mine = scored[scored["graph_hash"] == h]
        label = short_label(str(arch["notation"]), str(arch["family"]))
        points, per_seed, seed_scores = [], [], []
        for index, point in mine.groupby("trial_number", sort=True):
            per_seed.append(dict(zip(point["seed"].astype(int), point["score"].astype(float), strict=True)))
            scores = point["score"].to_numpy(dtype=float)
            seed_scores.append(scores.tolist())
            values = scores[~np.isnan(scores)]
            points.append(
                (
                    int(index),
                    float(np.median(floats(point["hp_lr"]))),
                    point_score(scores.tolist()),
                    int(values.size),
                    int(np.isinf(values).sum()),
                )
            )
        order = sorted(range(len(points)), key=lambda i: points[i][1])  # by LR: extensions are numbered after
        points, per_seed, seed_scores = (
            [points[i] for i in order],
            [per_seed[i] for i in order],
            [seed_scores[i] for i in order],
        )
        grid_rows += [dict(zip(GRID_COLUMNS, (arm, h, label, *p), strict=True)) for p in points]
        lrs = [p[1] for p in points]
        means = [p[2] if math.isfinite(p[2]) else math.nan for p in points]
        argmin = probed_max_lr(list(zip(lrs, seed_scores, strict=True)))
        probed, edge = argmin.lr, argmin.edge
        low, high, method = within_noise(lrs, per_seed, probed)
        paths, s = float(arch["paths"]), float(arch["S"])
        rows.append(
            {
                "arm": arm,
                "graph_hash": h,
                "architecture": arch["notation"],
                "label": label,
                "family": arch["family"],
                "kernel_size": arch["kernel_size"],
                "paths": paths,
                "S": s,
                "depth": round(s ** (1 / 3)) if paths == 1 and s > 0 else math.nan,
                "principled_scale": float(arch["principled_scale"]),
                "is_base": bool(arch["is_base"]),
                "quirk": _quirk(arch),
                "criterion": column,
                "probed_lr": probed,
                "probed_lr_lo": low,
                "probed_lr_hi": high,
                "probed_lr_method": method,
                "best_score": float(np.nanmin(means)) if any(math.isfinite(m) for m in means) else math.nan,
                "seeds": int(mine["seed"].nunique()),
                "runs": len(mine),
                "diverged_runs": int(np.isinf(mine["score"].to_numpy(dtype=float)).sum()),
                "at_grid_edge": edge,
                "censored": bool(edge),
            }
        )
    frame = pd.DataFrame(rows)
    base_lr = frame.loc[frame["is_base"], "probed_lr"]
    base_probed = float(base_lr.iloc[0]) if len(base_lr) else math.nan
    frame["predicted_lr"] = base_probed * frame["principled_scale"]
    frame["ratio"] = frame["probed_lr"] / frame["predicted_lr"]
    frame = unique_labels(frame)
    return frame[PROBE_COLUMNS].reset_index(drop=True), pd.DataFrame(grid_rows, columns=GRID_COLUMNS)


WITHIN_NOISE = "grid LRs within seed noise of the best (paired t)"


def within_noise(lrs: list[float], per_seed: list[dict[int, float]], probed: float) -> tuple[float, float, str]:
    """(lowest, highest) grid LR whose per-seed scores are not worse than the probed point's beyond seed
    noise: the paired t interval (95%, over the seeds both have) of the point's score minus the best's
    reaches 0 or below. A point with a diverged seed is worse. Fewer than 2 seeds: no range (NaN, NaN)."""
    if not math.isfinite(probed) or probed not in lrs:
        return math.nan, math.nan, stats.NO_INTERVAL
    best = per_seed[lrs.index(probed)]
    kept = [probed]
    for lr, scores in zip(lrs, per_seed, strict=True):
        seeds = sorted(set(scores) & set(best))
        diffs = np.array([scores[k] - best[k] for k in seeds], dtype=float)
        if lr == probed or len(seeds) < 2 or not np.isfinite(diffs).all():
            continue
        if stats.t_estimate(diffs, (stats.SEED,)).lo <= 0:
            kept.append(lr)
    if len(best) < 2:
        return math.nan, math.nan, stats.NO_INTERVAL
    return min(kept), max(kept), WITHIN_NOISE


def _quirk(arch: dict[str, object]) -> bool:
    """Whether the official zero-block quirk set this architecture's S (see
    `archscale.principles.hits_blockless_quirk`); False when its notation cannot be read."""
    from archscale.graph import parse_architecture
    from archscale.principles import Convention, hits_blockless_quirk

    try:
        kernel = arch["kernel_size"]
        graph = parse_architecture(str(arch["notation"]).split(" @ ")[0], str(arch["family"]), int(kernel or 3))  # type: ignore[call-overload]
        return hits_blockless_quirk(graph, Convention(str(arch["convention"] or "official")))
    except Exception:  # a label must never fail a report
        return False


def paper_reference(probe: pd.DataFrame, activation: str = "relu") -> tuple[float, str]:
    """The paper's reported r for this kind of study (ReLU chains: App. D; MLP topologies: Fig. 2; CNNs:
    Fig. 3; GELU: Fig. 7, App. E.2); NaN for an activation the paper did not probe."""
    values = PAPER_R.get(activation)
    if values is None:
        return math.nan, ""
    where = "Fig. 7, App. E.2" if activation == "gelu" else None
    targets = probe[~probe["is_base"]]
    if not targets.empty and (targets["paths"] == 1).all() and targets["family"].eq("mlp").all():
        return values["depth"], f"paper, {activation.upper()} MLP depth ({where or 'App. D'})"
    families = set(targets["family"])
    if families == {"mlp"}:
        return values["mlp"], f"paper, {activation.upper()} MLP topologies ({where or 'Fig. 2'})"
    if families == {"cnn"}:
        return values["cnn"], f"paper, {activation.upper()} CNN topologies ({where or 'Fig. 3'})"
    return math.nan, ""


PAPER_R = {
    "relu": {"depth": 0.962, "mlp": 0.838, "cnn": 0.856},
    "gelu": {"depth": 0.920, "mlp": 0.680, "cnn": 0.949},
}
"""The paper's Pearson r of predicted vs probed max LR, by activation and kind of study."""
