"""Optuna studies of the platform's searches, in Optuna's RDB storage on the results database."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from archscale.strategies.plan import Search

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage


def open_search(search: Search, storage: BaseStorage) -> tuple[optuna.Study, int]:
    """Create or reopen the search's study; return it and how many trials it has finished.

    Trials left RUNNING by a stopped driver are marked FAIL. Each search's sampler has its own seed
    (the search seed mixed with the study name, so architectures are searched independently), plus
    the trials it already has: a reopened sampler would otherwise propose the same LRs again.
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
    seed = (search.spec.seed + zlib.crc32(search.name.encode()) + existing) % 2**32
    sampler = (
        optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(5, max(1, search.spec.trials // 3)))
        if search.spec.sampler == "tpe"
        else optuna.samplers.RandomSampler(seed=seed)
    )
    study = optuna.create_study(
        study_name=search.name, storage=storage, direction="maximize", sampler=sampler, load_if_exists=True
    )
    study.set_user_attr("strategy", search.strategy.value)
    study.set_user_attr("phase", search.phase.value)
    study.set_user_attr("architecture", search.arch_key)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return study, len(finished)
