"""The trainer's numbers do not change by accident: every case of `training_core_cases` (unpacked runs,
packs, the quickstart's training alone and packed) reproduces the stored golden bit for bit on the CPU.

The bits are a function of the code, torch's version and the CPU's instruction set; on a machine
that differs from the one that wrote the fixture in the last two, the comparison is skipped (rewrite
the fixture there with `python tests/training_core_cases.py` to pin it on that machine)."""

from __future__ import annotations

import json

import pytest

from training_core_cases import CASES, GOLDEN, machine, record

GOLDEN_DATA = json.loads(GOLDEN.read_text())


def test_the_golden_has_every_case():
    assert sorted(GOLDEN_DATA["cases"]) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_case_reproduces_its_golden_exactly(name):
    if GOLDEN_DATA["machine"] != machine():
        pytest.skip(f"the golden was written with {GOLDEN_DATA['machine']}, this machine has {machine()}")
    assert record(CASES[name]()) == GOLDEN_DATA["cases"][name]
