"""`StudyPlan`: what a study planned, as the store returns it (`archscale.store.read_plan`).

The report reads everything study-specific from here (architectures, arms, pairs, searches and the
LRs they chose); it never re-plans from the YAML and never branches on a strategy kind's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class StudyPlan:
    """A study's plan.

    - `seeds`: final-run seeds; `search_seeds`: the seeds of search and probe trials (disjoint from
      `seeds` for searches);
    - `search_repeats`: R ≥ 1; every search ran R times with independent sampler seeds, and the finals
      of an arm whose LR comes from a search ran once per repeat;
    - `pairs`: the arm pairs (a, b) compared; differences are a − b;
    - `chance`: 1 / the dataset's number of classes (the score of a diverged final run), None if unknown;
    - `architectures`: one row per architecture: graph_hash, notation, family, kernel_size (Int64),
      width (Int64), position (listed order; -1 for an unlisted base), listed, is_base, convention,
      paths, S, principled_scale, parameters (Int64, NA until known);
    - `arms`: one row per arm in YAML order: arm, kind, position, label, final (has final runs),
      settings (dict), recipe (dict: init, optimizer, schedule, epochs, batch_size, lr_search (dict: trials,
      sampler, low, high, early_stopping; None when the LR is not searched));
    - `searches`: one row per search: name (= the trials' `optuna_study`), phase, graph_hash, repeat,
      arms (tuple of the arms its cost is charged to), scope ("architecture" or "study"), budget (dict:
      trials, sampler, low, high, early_stopping, init, epochs);
    - `choices`: the chosen LR per arm, architecture and repeat: arm, graph_hash, repeat, lr, search, source.
    """

    seeds: tuple[int, ...]
    search_seeds: tuple[int, ...]
    search_repeats: int
    pairs: tuple[tuple[str, str], ...]
    chance: float | None
    architectures: pd.DataFrame
    arms: pd.DataFrame
    searches: pd.DataFrame
    choices: pd.DataFrame
