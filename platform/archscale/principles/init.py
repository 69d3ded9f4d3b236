"""Architecture-aware initialisation (paper Eq. 2/4, App. A Eq. 12; paper-spec §3).

Hidden edge j→k: W ~ N(0, 2 / (fan_in · d)), d the in-degree of the edge's SOURCE node j (the
authors' code and Eq. 4 as printed) or of its TARGET node k (the appendix derivation, norm-preserving
for Eq. 1 networks). In-degrees count every non-zero incoming edge; node 0 has 1; d is clamped to >= 1.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TypeVar

from archscale.errors import UserError
from archscale.graph import Family, Graph


class DegreeRule(StrEnum):
    SOURCE = "source"
    TARGET = "target"


class ReadoutRule(StrEnum):
    """How the output layer is drawn.

    official: the authors' code — std 2/K for MLP/CNN (K classes; a fan_out quirk), std 2/fan_in
    for the NAS-Bench-201 classifier. mup: variance 1/n² (App. B). paper: variance 2/n² (Eq. 2, C=2).
    """

    OFFICIAL = "official"
    MUP = "mup"
    PAPER = "paper"


T = TypeVar("T", bound=StrEnum)


def _choice(kind: type[T], name: str, what: str) -> T:
    try:
        return kind(name.strip().lower())
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise UserError(f"unknown {what} '{name}'; known: {known}") from None


def degree_rule_from_name(name: str) -> DegreeRule:
    return _choice(DegreeRule, name, "in-degree rule")


def readout_rule_from_name(name: str) -> ReadoutRule:
    return _choice(ReadoutRule, name, "readout rule")


def he_std(fan: int, degree: int = 1) -> float:
    """sqrt(2 / (fan · max(degree, 1))): He init divided by an in-degree."""
    return math.sqrt(2.0 / (fan * max(degree, 1)))


def edge_degrees(graph: Graph, rule: DegreeRule = DegreeRule.SOURCE) -> dict[tuple[int, int], int]:
    """The in-degree that scales each parameterised edge's variance, keyed by (src, dst)."""
    degrees = graph.in_degrees()
    return {
        (e.src, e.dst): max(degrees[e.src if rule is DegreeRule.SOURCE else e.dst], 1)
        for e in graph.edges
        if e.op.parameterised
    }


def edge_stds(graph: Graph, fan_in: int, rule: DegreeRule = DegreeRule.SOURCE) -> dict[tuple[int, int], float]:
    """Per parameterised edge, the weight std for a layer of fan-in `fan_in` (width·k² for convs)."""
    return {edge: he_std(fan_in, d) for edge, d in edge_degrees(graph, rule).items()}


def readout_std(rule: ReadoutRule, family: Family, fan_in: int, classes: int) -> float:
    """The output layer's weight std (fan_in = width n, or 4C for NAS-Bench-201)."""
    if rule is ReadoutRule.MUP:
        return 1.0 / fan_in
    if rule is ReadoutRule.PAPER:
        return math.sqrt(2.0) / fan_in
    return 2.0 / (fan_in if family is Family.NB201 else classes)


def stem_std(family: Family, width: int, in_channels: int, kernel: int = 1, dims: int = 2) -> float:
    """The official stem std: fan_out for MLP/CNN (sqrt(2/width), sqrt(2/(width·k^dims))),
    fan_in for NAS-Bench-201 (sqrt(2/(in_channels·9)))."""
    if family is Family.NB201:
        return he_std(in_channels * 9)
    return he_std(width * kernel**dims)


NB201_REDUCTION_DEGREES = {"conv_a": 2, "conv_b": 1, "shortcut": 2}
"""Fixed degrees of the official code in ResNet reduction blocks, whatever the cell (paper-spec D8)."""
