"""Like with like (claims stage): do two compared arms differ in anything but how the LR is chosen?

An arm's `recipe` (from the plan) is what its final runs use besides the LR: init, optimizer,
schedule, epochs, batch size, and `lr_search` (the budget of the search its LR comes from; None when
the LR is not searched). Whether an LR is searched at all *is* how it is chosen, so `lr_search` only
counts as a difference when both arms search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from archscale.report.frames.study import pair_key

if TYPE_CHECKING:
    from archscale.store import StudyPlan

SEARCH = "lr_search"
PAIR_COLUMNS = ["a", "b", "key", "like_with_like", "differences", "effect", "note"]


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The recipe fields where a and b differ ({field (dotted path), a, b}, in a's then b's order),
    descending into mappings both sides have; `lr_search` only when both arms search."""
    left, right = dict(a), dict(b)
    if left.get(SEARCH) is None or right.get(SEARCH) is None:
        left.pop(SEARCH, None)
        right.pop(SEARCH, None)
    found: list[dict[str, Any]] = []
    _diff(left, right, "", found)
    return found


def _diff(a: Any, b: Any, path: str, found: list[dict[str, Any]]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            _diff(a.get(key), b.get(key), f"{path}.{key}" if path else str(key), found)
    elif a != b:
        found.append({"field": path, "a": a, "b": b})


def note(a: str, b: str, found: list[dict[str, Any]]) -> str:
    """One line: what else differs between a and b ('' when nothing does)."""
    if not found:
        return ""
    shown = "; ".join(f"{d['field']} {_show(d['a'])} vs {_show(d['b'])}" for d in found)
    return f"{a} vs {b} differ in more than how the LR is chosen: {shown}"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_show(v)}" for k, v in value.items()) + "}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def effect(same_kind: bool, found: list[dict[str, Any]]) -> str:
    """What a paired difference measures, in words: the LR choice (arms of different kinds that share
    everything else), or the recipe fields that differ (arms of one kind: an ablation, e.g. `init`)."""
    fields = list(dict.fromkeys(d["field"].split(".")[0] for d in found))
    if same_kind:
        return ", ".join(fields) if fields else "nothing (identical arms)"
    return "the LR choice" + (f" and {', '.join(fields)}" if fields else "")


def pairs_frame(plan: StudyPlan) -> pd.DataFrame:
    """One row per compared pair: a, b, key (`a:b`), like_with_like, differences (list of {field, a, b}),
    the effect the difference measures (see `effect`) and the one-line note."""
    recipes = {
        str(arm): r if isinstance(r, dict) else {} for arm, r in zip(plan.arms["arm"], plan.arms["recipe"], strict=True)
    }
    kinds = dict(zip(plan.arms["arm"].astype(str), plan.arms["kind"].astype(str), strict=True))
    rows = []
    for a, b in plan.pairs:
        found = differences(recipes.get(a, {}), recipes.get(b, {}))
        rows.append(
            {
                "a": a,
                "b": b,
                "key": pair_key(a, b),
                "like_with_like": not found,
                "differences": found,
                "effect": effect(kinds.get(a) == kinds.get(b), found),
                "note": note(a, b, found),
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
