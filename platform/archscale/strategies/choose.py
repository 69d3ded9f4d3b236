"""What the searches chose: the base LR (for `principled` and `fixed: base`) and each tuned LR."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archscale.store.enums import Phase

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from archscale.strategies.plan import Search


@dataclass(frozen=True)
class ChosenLrs:
    """`base_lr`: the best LR of the base-LR search; `tuned`: the best LR per architecture key."""

    base_lr: float | None = None
    tuned: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_searches(cls, searches: list[Search], storage: BaseStorage) -> ChosenLrs:
        """Read each search's best completed trial (highest validation accuracy) from Optuna."""
        base_lr, tuned = None, {}
        for search in searches:
            lr = best_lr(search.name, storage)
            if lr is None:
                continue
            if search.phase is Phase.BASE_SEARCH:
                base_lr = lr
            else:
                tuned[search.arch_key] = lr
        return cls(base_lr, tuned)


def best_lr(study_name: str, storage: BaseStorage) -> float | None:
    """The LR of the study's best COMPLETE trial (ties: the smaller LR), None if it has none."""
    import optuna
    from optuna.trial import TrialState

    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return None
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    if not complete:
        return None
    best = max(complete, key=lambda t: (t.value, -t.params["lr"]))
    return float(best.params["lr"])
