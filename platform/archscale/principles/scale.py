"""The learning-rate rule: η = η_base · sqrt(S_base / S) · (k_base / k), with S = Σ_p L_p³."""

from __future__ import annotations

import math
from dataclasses import dataclass

from archscale.errors import UserError
from archscale.graph import Architecture, Family, PathMoments, path_moments
from archscale.principles.conventions import Convention, DepthRule, default_base, depth_rule


@dataclass(frozen=True)
class DepthStats:
    """Path statistics of one architecture under a convention; `S` is None when undefined."""

    moments: PathMoments
    S: int | None

    @property
    def paths(self) -> int:
        return self.moments.count


@dataclass(frozen=True)
class Scale:
    """The principled LR scale of an architecture relative to its base network.

    `factor` is what the convention's formula gives (under `official`, 1 for a DAG without a
    parameterised path, by the authors' quirk); `lr_factor` is None when the architecture has no
    input→output path at all, since its output is constant and there is nothing to train.
    """

    arch: Architecture
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


def depth_stats(arch: Architecture, convention: Convention) -> DepthStats:
    rule = depth_rule(convention, arch.family)
    moments = path_moments(arch.graph, offset=rule.offset)
    if rule.blockless_is_base and moments.s1 == rule.offset * moments.count:
        return DepthStats(moments, rule.offset**3)
    return DepthStats(moments, moments.s3 if moments.count else None)


def _kernel(arch: Architecture, rule: DepthRule) -> int:
    return (arch.kernel_size or 1) if rule.kernel_factor and arch.family is Family.CNN else 1


def lr_scale(
    arch: Architecture, convention: Convention = Convention.OFFICIAL, base: Architecture | None = None
) -> Scale:
    """Compute S and the LR factor of `arch` relative to `base` (default: the family's base network).

    The base must be of the same family and have a path; both use the same convention.
    """
    rule = depth_rule(convention, arch.family)
    base = base or default_base(convention, arch.family)
    if base.family is not arch.family:
        raise UserError(f"the base is a {base.family.value} but the architecture a {arch.family.value}")
    base_stats = depth_stats(base, convention)
    if base_stats.S is None or base_stats.paths == 0:
        raise UserError(f"base architecture '{base.short}' has no input→output path")
    stats = depth_stats(arch, convention)
    kernel_factor = _kernel(base, rule) / _kernel(arch, rule)
    factor = None if stats.S is None else math.sqrt(base_stats.S / stats.S) * kernel_factor
    return Scale(arch, convention, stats, base_stats.S, kernel_factor, factor)
