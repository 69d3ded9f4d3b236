"""How each strategy picks hyperparameters, as plans of trials for the execution layer to run."""

from archscale.strategies.choose import ChosenLrs
from archscale.strategies.plan import ArchInfo, PhasePlan, Search, StudyContext, Unit, final_plan, search_plan

__all__ = ["ArchInfo", "ChosenLrs", "PhasePlan", "Search", "StudyContext", "Unit", "final_plan", "search_plan"]
