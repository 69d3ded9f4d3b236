"""The one verdict rule of the reproduction (claims stage): a claim is judged by its 95% interval against
the paper's value, never by a point estimate.

- **reproduces**: the interval is consistent with the paper (it contains the paper's value, or lies
  beyond it on the better side) and it excludes no effect (the claim's `null`: r = 0, a gain of 0, ...);
- **does not reproduce**: the interval lies wholly on the worse side of the paper's value (for a
  two-sided claim such as an exponent: it excludes the paper's value);
- **inconclusive**: anything else, a claim without an interval, and a claim anchored on a censored value
  (a probed LR still at its grid's edge).

Where the paper states only a direction ("principled is better"), its value is the null itself: the
claim reproduces when the interval lies wholly on the better side of no effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

REPRODUCES, FAILS, INCONCLUSIVE, NOT_RUN = "reproduces", "does not reproduce", "inconclusive", "not-run"
VERDICTS = (REPRODUCES, FAILS, INCONCLUSIVE, NOT_RUN)

RULE = (
    "reproduces when the 95% interval is consistent with the paper's value (contains it, or lies beyond it "
    "on the better side) and excludes no effect; does not reproduce when it lies wholly on the worse side "
    "of the paper's value (two-sided claims: excludes it); inconclusive otherwise (no interval, or a claim "
    "anchored on a censored probed LR). A claim stating only a direction takes no effect as the paper's value."
)

Better = Literal["higher", "lower", "two-sided"]


@dataclass(frozen=True)
class Target:
    """What a claim asserts: the paper's value (None: a direction only), which side of it is better, and
    the value of no effect."""

    paper: float | None
    better: Better = "higher"
    null: float = 0.0

    @property
    def reference(self) -> float:
        return self.null if self.paper is None else self.paper

    def text(self) -> str:
        """The rule of this claim in numbers."""
        ref, null = f"{self.reference:g}", f"{self.null:g}"
        if self.better == "two-sided":
            return f"interval contains {ref} and excludes {null}"
        side = ">" if self.better == "higher" else "<"
        if self.paper is None:
            return f"interval wholly {side} {null}"
        return f"interval reaches {ref} (or beyond, {side}) and is wholly {side} {null}"


def judge(target: Target, lo: float | None, hi: float | None, *, censored: bool = False) -> tuple[str, str]:
    """(verdict, the reason in numbers) of the interval [lo, hi] under `target`."""
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE, "no interval"
    ref, null, shown = target.reference, target.null, f"[{lo:.3g}, {hi:.3g}]"
    if censored:
        return INCONCLUSIVE, f"{shown}, but anchored on a censored probed LR (still at its grid's edge)"
    if target.better == "two-sided":
        worse, consistent, excludes_null = not lo <= ref <= hi, lo <= ref <= hi, not lo <= null <= hi
        worse_text = f"{shown} excludes the paper's {ref:g}"
    elif target.better == "higher":
        worse, consistent, excludes_null = hi < ref, hi >= ref, lo > null
        worse_text = f"{shown} lies wholly below {ref:g}"
    else:
        worse, consistent, excludes_null = lo > ref, lo <= ref, hi < null
        worse_text = f"{shown} lies wholly above {ref:g}"
    if worse:
        return FAILS, worse_text
    if consistent and excludes_null:
        return REPRODUCES, f"{shown} is consistent with {ref:g} and excludes {null:g}"
    return INCONCLUSIVE, f"{shown} contains {null:g} (no effect)" if not excludes_null else f"{shown}"
