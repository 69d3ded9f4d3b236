"""Strategy kinds as registered units, and the study's plan built from its arms.

A kind is one module of this package registered with `@register_strategy` (`fixed`, `principled`,
`tuned`, `probe`, ...), the behaviour of its arm settings (`archscale.settings`, where the study reads
them); importing the package imports every module in it. `list_strategies()` names them. A study's
`strategies:` names arms (instances of a kind); `study_context` resolves their base networks, and
`search_plan` and `final_plan` turn them into trials. Imports neither SQLAlchemy nor Ray (nor torch).
"""

import importlib
import pkgutil

from archscale.strategies.context import ArchInfo, StudyContext
from archscale.strategies.needs import Choice, Found, SearchNeed, Unit
from archscale.strategies.plan import (
    ArmChoice,
    PhasePlan,
    Search,
    arm_rows,
    default_pairs,
    final_plan,
    search_plan,
    study_context,
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
    "arm_rows",
    "default_pairs",
    "final_plan",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "search_plan",
    "study_context",
]

for _module in pkgutil.iter_modules(__path__):  # registers every kind defined in this package
    importlib.import_module(f"{__name__}.{_module.name}")
