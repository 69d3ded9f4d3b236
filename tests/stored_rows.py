"""A study's stored results as comparable data, on any backend: what "the same rows" means in the
determinism tests (every trial's key, status, LR, selected epoch and scores, and every epoch's metrics;
never times, ids or nodes)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

RICH_STUDY = """\
# As rich as the quickstart, at a tenth of its cost: a base-LR search shared by principled and fixed (whose
# base-network final runs are identical), per-architecture TPE searches with ASHA, packed final runs, and
# a probe grid (known-LR runs, packed) that extends where its probed LR sits at an edge (a second pass).
name: same-answer
dataset: {name: mnist1d, limit: 600, test_limit: 300, val_fraction: 0.25}
model: {family: mlp, width: 32}
architectures: ["1", "2_02", "2_22_222"]
training: {epochs: 3, batch_size: 32, optimizer: {momentum: 0.9}, schedule: cosine}
seeds: [0, 1]
search: {trials: 4, low: 0.01, high: 1.0, early_stopping: {grace_epochs: 1}}
strategies:
  principled: {}
  tuned: {}
  fixed: {lr: base}
  probe: {points: 4}
"""
RICH_STUDY_ROWS = 4 + 3 * 4 + 3 * 3 * 2 + 4 * 3 * 2 + 2 * 4 * 2
"""The base search, 3 tuned searches, the final runs of 3 arms, the probe grid (3 architectures × 2 seeds) and
its extension by one block of 4 points on the 2 architectures whose probed LR sat at the high edge."""

_TRIALS = """
select t.id, a.notation, t.arm, t.kind, t.phase, t.seed, t.trial_number, t."repeat", t.status, t.hyperparameters,
       t.budget_reached, t.selected_epoch, t.val_accuracy, t.test_accuracy, t.val_loss, t.test_loss, t.same_run_as
from archscale_trial t join archscale_study s on s.id = t.study_id
join archscale_architecture a on a.id = t.architecture_id where s.name = :name
"""
_EPOCHS = """
select e.trial_id, e.epoch, e.train_loss, e.train_loss_tail, e.train_accuracy, e.val_loss, e.val_accuracy,
       e.test_loss, e.test_accuracy, e.lr
from archscale_epoch e join archscale_trial t on t.id = e.trial_id join archscale_study s on s.id = t.study_id
where s.name = :name order by e.trial_id, e.epoch
"""


def stored_rows(url: str, name: str) -> list[tuple[Any, ...]]:
    """The study's trials, sorted by natural key, each with its epochs."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            trials = connection.execute(text(_TRIALS), {"name": name}).all()
            epochs: dict[int, list[tuple[Any, ...]]] = {}
            for row in connection.execute(text(_EPOCHS), {"name": name}).all():
                epochs.setdefault(row[0], []).append(tuple(row[1:]))
    finally:
        engine.dispose()
    rows = []
    for trial_id, *fields in trials:
        hyperparameters = fields[8]
        if isinstance(hyperparameters, str):
            hyperparameters = json.loads(hyperparameters)
        fields[8] = json.dumps(hyperparameters, sort_keys=True)
        rows.append((*fields, tuple(epochs.get(trial_id, []))))
    return sorted(rows, key=lambda r: tuple(map(str, r[:7])))


def differing(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The keys (architecture, arm, phase, seed, trial number, repeat) of rows that differ."""
    keys = {r[:7]: r for r in b}
    return [r[:7] for r in a if keys.get(r[:7]) != r] + [k for k in keys if k not in {r[:7] for r in a}]
