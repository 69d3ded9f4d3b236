"""The per-step learning rate: warmup ends at the run's own LR, cosine ends at 0."""

import itertools
import math

import pytest

from archscale.train import LRSchedule


def test_constant_schedule():
    schedule = LRSchedule(lr=0.3, total_steps=10)
    assert [schedule(s) for s in (0, 5, 9, 10)] == [0.3] * 4


def test_warmup_ramps_linearly_and_ends_at_the_runs_own_lr():
    schedule = LRSchedule(lr=0.8, total_steps=20, warmup_steps=4)
    assert [schedule(s) for s in range(6)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 0.8, 0.8])
    assert schedule(3) == 0.8  # exactly the run's LR, not some base LR (paper-spec D16)


def test_cosine_decays_from_lr_to_zero_after_warmup():
    schedule = LRSchedule(lr=1.0, total_steps=102, warmup_steps=2, cosine=True)
    assert schedule(1) == 1.0 and schedule(2) == 1.0
    assert schedule(52) == pytest.approx(0.5)
    assert schedule(101) == pytest.approx(0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert schedule(102) == pytest.approx(0.0, abs=1e-15)
    values = [schedule(s) for s in range(2, 103)]
    assert all(a >= b for a, b in itertools.pairwise(values))
