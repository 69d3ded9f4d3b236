"""Depth conventions: how L_p is counted on a path, and which network is the transfer base.

`official` reproduces the authors' code (VITA-Group/principled_scaling_lr_init) bit for bit;
`paper` follows the paper's equations (L_p = ReLU layers on the path, stem included, no quirks).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from archscale.errors import UserError
from archscale.graph import Architecture, Family, parse_architecture


class Convention(StrEnum):
    OFFICIAL = "official"
    PAPER = "paper"


CONVENTION_NAMES = ", ".join(c.value for c in Convention)


def convention_from_name(name: str) -> Convention:
    try:
        return Convention(name.strip().lower())
    except ValueError:
        raise UserError(f"unknown convention '{name}'; known: {CONVENTION_NAMES}") from None


@dataclass(frozen=True)
class DepthRule:
    """L_p = offset + (parameterised edges on the path); skip and pooling edges add 0.

    `blockless_is_base`: the official MLP/CNN quirk — when no path carries a parameterised edge
    (or there is no path at all) S is the base's, whatever the number of paths.
    `kernel_factor`: multiply the LR by k_base/k (CNNs).
    """

    offset: int
    blockless_is_base: bool
    kernel_factor: bool
    base: str


_RULES: dict[tuple[Convention, Family], DepthRule] = {
    (Convention.OFFICIAL, Family.MLP): DepthRule(3, True, False, "1"),
    (Convention.OFFICIAL, Family.CNN): DepthRule(3, True, True, "1"),
    (Convention.OFFICIAL, Family.NB201): DepthRule(1, False, False, "1_01_001"),
    (Convention.PAPER, Family.MLP): DepthRule(1, False, False, "1"),
    (Convention.PAPER, Family.CNN): DepthRule(1, False, True, "1"),
    (Convention.PAPER, Family.NB201): DepthRule(1, False, False, "1_01_001"),
}

BASE_KERNEL = 3


def depth_rule(convention: Convention, family: Family) -> DepthRule:
    return _RULES[(convention, family)]


@cache
def default_base(convention: Convention, family: Family) -> Architecture:
    """The shallowest network of the family (one hidden layer; NB201: the identity cell)."""
    return parse_architecture(depth_rule(convention, family).base, family, BASE_KERNEL)
