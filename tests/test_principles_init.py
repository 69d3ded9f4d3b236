"""Initialisation variances of the official and alternative rules (paper-spec §3.2-3.3, §8 item 14)."""

import math

import pytest

from archscale.errors import UserError
from archscale.graph import Family, parse_architecture
from archscale.principles import DegreeRule, ReadoutRule, edge_stds, he_std, readout_std
from archscale.principles.init import NB201_REDUCTION_DEGREES, degree_rule_from_name, stem_std


def test_item_14_values():
    assert he_std(512, 3) == pytest.approx(0.036084, abs=5e-7)
    assert readout_std(ReadoutRule.OFFICIAL, Family.MLP, 512, 10) == pytest.approx(0.2)
    assert readout_std(ReadoutRule.OFFICIAL, Family.MLP, 512, 100) == pytest.approx(0.02)
    assert readout_std(ReadoutRule.OFFICIAL, Family.NB201, 4 * 16, 10) == pytest.approx(0.03125)
    assert he_std(16 * 9, 2) == pytest.approx(0.083333, abs=5e-7)
    assert he_std(16 * 9, NB201_REDUCTION_DEGREES["conv_a"]) == pytest.approx(math.sqrt(2 / 288))
    assert stem_std(Family.MLP, 512, 3072) == pytest.approx(0.0625)


def test_worked_mlp_example_source_and_target_rules():
    graph = parse_architecture("2_22_222_2222").graph
    source = edge_stds(graph, 512, DegreeRule.SOURCE)
    assert source[(0, 4)] == source[(1, 2)] == pytest.approx(0.0625)
    assert source[(2, 3)] == source[(2, 4)] == pytest.approx(0.04419, abs=5e-6)
    assert source[(3, 4)] == pytest.approx(0.03608, abs=5e-6)
    target = edge_stds(graph, 512, DegreeRule.TARGET)
    assert target[(0, 1)] == pytest.approx(0.0625)
    assert target[(1, 2)] == pytest.approx(0.04419, abs=5e-6)
    assert target[(2, 3)] == pytest.approx(0.03608, abs=5e-6)
    assert target[(3, 4)] == pytest.approx(0.03125)


def test_worked_nb201_example():
    graph = parse_architecture("3_33_133").graph
    for channels, high, low in ((16, 0.11785, 0.08333), (32, 0.08333, 0.05893), (64, 0.05893, 0.04167)):
        stds = edge_stds(graph, channels * 9)
        assert set(stds) == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}  # the skip 0→3 has no weights
        for edge in ((0, 1), (0, 2), (1, 2), (1, 3)):
            assert stds[edge] == pytest.approx(high, abs=5e-6)
        assert stds[(2, 3)] == pytest.approx(low, abs=5e-6)


def test_zero_in_degree_is_clamped():
    stds = edge_stds(parse_architecture("0_02_002_0002").graph, 256)
    assert stds[(1, 2)] == pytest.approx(he_std(256, 1))


def test_readout_variants():
    assert readout_std(ReadoutRule.MUP, Family.MLP, 256, 10) ** 2 == pytest.approx(1 / 256**2)
    assert readout_std(ReadoutRule.PAPER, Family.MLP, 256, 10) ** 2 == pytest.approx(2 / 256**2)


def test_unknown_rule_names_the_choices():
    with pytest.raises(UserError, match="known: source, target"):
        degree_rule_from_name("middle")
