"""Optuna studies of the platform's searches, in Optuna's RDB storage on the results database."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from archscale.strategies import Found, Search

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage


def open_search(search: Search, storage: BaseStorage) -> tuple[optuna.Study, int]:
    """Create or reopen the search's study; return it and how many trials it has finished.

    Trials left RUNNING by a stopped driver are marked FAIL. Each search's sampler has its own seed
    (`sampler_seed`: from the search's content, never from the study's name), plus the trials it
    already has: a reopened sampler would otherwise propose the same LRs again. User attributes carry the arms, the
    phase, the repeat and the architecture's full notation, for optuna-dashboard users.
    """
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    existing = 0
    try:
        summary = optuna.load_study(study_name=search.name, storage=storage)
        existing = len(summary.get_trials(deepcopy=False))
    except KeyError:
        pass
    seed = (sampler_seed(search) + existing) % 2**32
    startup = random_trials(search)
    sampler = (
        optuna.samplers.RandomSampler(seed=seed)
        if startup is None
        else optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)
    )
    study = optuna.create_study(
        study_name=search.name, storage=storage, direction="maximize", sampler=sampler, load_if_exists=True
    )
    study.set_user_attr("arms", list(search.arms))
    study.set_user_attr("phase", search.phase.value)
    study.set_user_attr("repeat", search.repeat)
    study.set_user_attr("architecture", search.notation)
    study.set_user_attr("graph_hash", search.arch_key)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return study, len(finished)


def sampler_seed(search: Search) -> int:
    """The seed of the search's sampler: a digest of what the search is (its architecture, init,
    recipe, model options and search settings, `search.seed` among them), its repeat and the training
    seed of its trials, so that architectures and repeats are searched independently and the same YAML
    under another study name searches the same LRs."""
    content = json.dumps([search.need.identity, search.repeat, search.seed])
    return int.from_bytes(hashlib.sha256(content.encode()).digest()[:4], "big")


def rounds(search: Search) -> tuple[int, int]:
    """(trials of the first round, trials of each later round): a search asks a round's trials at once
    and the next round once every trial of this one has been told. The first round is the sampler's
    random start-up (TPE), or one batch (random)."""
    batch = search.spec.round_size()
    startup = random_trials(search)
    return (batch if startup is None else startup), batch


def random_trials(search: Search) -> int | None:
    """How many of the search's first trials its sampler draws at random, learning nothing from the
    others (None: all of them): these may be asked at once without changing what the search sees."""
    if search.spec.sampler == "tpe":
        return min(5, max(1, search.spec.trials // 3))
    return None


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


def found_per_repeat(searches: list[Search], repeats: int, storage: BaseStorage) -> list[Found]:
    """Each search repeat's results: the best LR of every search that has one, by search identity."""
    best: list[dict[str, tuple[float, str]]] = [{} for _ in range(repeats)]
    for search in searches:
        lr = best_lr(search.name, storage)
        if lr is not None:
            best[search.repeat][search.need.identity] = (lr, search.name)
    return [Found(b) for b in best]
