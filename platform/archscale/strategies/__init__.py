"""Strategy kinds as registered units, and the study's plan built from its arms.

A kind is one module registered with `@register_strategy` (`fixed`, `principled`, `tuned`, `probe`);
`list_strategies()` names them. A study's `strategies:` names arms (instances of a kind); `search_plan`
and `final_plan` turn them into trials. Imports neither SQLAlchemy nor Ray (nor torch).
"""

from archscale.strategies import fixed, principled, probe, tuned  # noqa: F401  (register the built-in kinds)
from archscale.strategies.context import ArchInfo, StudyContext
from archscale.strategies.needs import Choice, Found, SearchNeed, UnitNeed
from archscale.strategies.plan import (
    ArmChoice,
    PhasePlan,
    Search,
    Unit,
    arm_rows,
    default_pairs,
    final_plan,
    search_plan,
)
from archscale.strategies.registry import Strategy, get_strategy, list_strategies, register_strategy

__all__ = [
    "ArchInfo",
    "ArmChoice",
    "Choice",
    "Found",
    "PhasePlan",
    "Search",
    "SearchNeed",
    "Strategy",
    "StudyContext",
    "Unit",
    "UnitNeed",
    "arm_rows",
    "default_pairs",
    "final_plan",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "search_plan",
]
