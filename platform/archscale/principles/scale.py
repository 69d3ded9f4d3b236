"""The learning-rate rule: η = η_base · sqrt(S_base / S) · (k_base / k), with S = Σ_p L_p³."""

from __future__ import annotations

import math
from functools import cache
from typing import NamedTuple

from archscale.errors import UserError
from archscale.graph import Architecture, Family, PathMoments, path_moments
from archscale.graph.notation import NB201_OPS, digit_groups
from archscale.graph.ops import LINEAR, SKIP, ZERO
from archscale.graph.paths import dense_moments, depth_of_blocks
from archscale.principles.conventions import BASE_KERNEL, Convention, DepthRule, default_base, depth_rule


class DepthStats(NamedTuple):
    """Path statistics of one architecture under a convention; `S` is None when undefined."""

    moments: PathMoments
    S: int | None

    @property
    def paths(self) -> int:
        return self.moments.count


class Scale(NamedTuple):
    """The principled LR scale of an architecture relative to its base network.

    `factor` is what the convention's formula gives (under `official`, 1 for a DAG without a
    parameterised path, by the authors' quirk); `lr_factor` is None when the architecture has no
    input→output path at all, since its output is constant and there is nothing to train.
    """

    family: Family
    kernel_size: int | None
    convention: Convention
    stats: DepthStats
    S_base: int
    kernel_factor: float
    factor: float | None

    @property
    def has_path(self) -> bool:
        return self.stats.paths > 0

    @property
    def lr_factor(self) -> float | None:
        return self.factor if self.has_path else None

    def lr(self, base_lr: float) -> float | None:
        """The transferred LR for a base LR, None without a path."""
        factor = self.lr_factor
        return None if factor is None else base_lr * factor


def _stats(moments: PathMoments, rule: DepthRule) -> DepthStats:
    if rule.blockless_is_base and moments.s1 == rule.offset * moments.count:
        return DepthStats(moments, rule.offset**3)
    return DepthStats(moments, moments.s3 if moments.count else None)


def hits_blockless_quirk(arch: Architecture, convention: Convention) -> bool:
    """Whether the official quirk changes this architecture's S: several input→output paths, none with a
    parameterised edge, so the code gives the base's S where the formula would count every path."""
    rule = depth_rule(convention, arch.family)
    moments = path_moments(arch.graph, offset=rule.offset)
    return rule.blockless_is_base and moments.count > 1 and moments.s1 == rule.offset * moments.count


def depth_stats(arch: Architecture, convention: Convention) -> DepthStats:
    rule = depth_rule(convention, arch.family)
    return _stats(path_moments(arch.graph, offset=rule.offset), rule)


def _kernel(family: Family, kernel_size: int | None, rule: DepthRule) -> int:
    return (kernel_size or 1) if rule.kernel_factor and family is Family.CNN else 1


class Transfer(NamedTuple):
    """Everything an LR transfer needs about the base network, computed once per batch."""

    family: Family
    convention: Convention
    rule: DepthRule
    S_base: int
    base_kernel: int

    def scale(self, stats: DepthStats, kernel_size: int | None) -> Scale:
        kernel_factor = self.base_kernel / _kernel(self.family, kernel_size, self.rule)
        factor = None if stats.S is None else math.sqrt(self.S_base / stats.S) * kernel_factor
        return Scale(self.family, kernel_size, self.convention, stats, self.S_base, kernel_factor, factor)


@cache
def transfer(convention: Convention, family: Family, base: Architecture | None = None) -> Transfer:
    """The transfer to `family` from `base` (default: the family's base network) under `convention`.

    The base must be of the same family and have a path; both use the same convention.
    """
    base = base or default_base(convention, family)
    if base.family is not family:
        raise UserError(f"the base is a {base.family.value} but the architecture a {family.value}")
    rule = depth_rule(convention, family)
    stats = depth_stats(base, convention)
    if stats.S is None or stats.paths == 0:
        raise UserError(f"base architecture '{base.short}' has no input→output path")
    return Transfer(family, convention, rule, stats.S, _kernel(base.family, base.kernel_size, rule))


def lr_scale(
    arch: Architecture, convention: Convention = Convention.OFFICIAL, base: Architecture | None = None
) -> Scale:
    """Compute S and the LR factor of `arch` relative to `base` (default: the family's base network)."""
    return transfer(convention, arch.family, base).scale(depth_stats(arch, convention), arch.kernel_size)


_DIGIT_INCREMENTS = {
    Family.MLP: [depth_of_blocks(op) for op in (ZERO, SKIP, LINEAR)],
    Family.CNN: [depth_of_blocks(op) for op in (ZERO, SKIP, LINEAR)],
    Family.NB201: [depth_of_blocks(op) for op in NB201_OPS],
}
_DIGIT_NOTATION = {Family.MLP: "DAG string", Family.CNN: "DAG string", Family.NB201: "NAS-Bench-201 code"}


def digit_string_scale(text: str, via: Transfer, kernel_size: int = BASE_KERNEL) -> Scale:
    """`lr_scale` of a DAG string or NAS-Bench-201 code of `via.family`, without building its graph.

    Gives exactly what `lr_scale(parse_architecture(text, family, kernel_size), ...)` gives (tested
    over both whole spaces), several times faster: the path of `archscale lr` over large batches.
    """
    increments = _DIGIT_INCREMENTS[via.family]
    groups = digit_groups(text, len(increments) - 1, _DIGIT_NOTATION[via.family])
    stats = _stats(dense_moments(groups, increments, via.rule.offset), via.rule)
    if via.family is not Family.CNN:
        return via.scale(stats, None)
    if kernel_size < 1:
        raise UserError(f"kernel size must be >= 1, got {kernel_size}")
    return via.scale(stats, kernel_size)
