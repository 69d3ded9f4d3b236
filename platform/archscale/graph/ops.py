"""Edge operations of an architecture graph: what an edge j→k computes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from archscale.errors import UserError


class OpKind(StrEnum):
    """The kinds of edge. Only LINEAR and CONV carry parameters."""

    ZERO = "zero"
    SKIP = "skip"
    LINEAR = "linear"
    CONV = "conv"
    AVG_POOL = "avg_pool"


@dataclass(frozen=True, order=True)
class Op:
    """One edge operation; `kernel` is the (square or 1-D) kernel side for CONV and AVG_POOL."""

    kind: OpKind
    kernel: int | None = None

    def __post_init__(self) -> None:
        needs_kernel = self.kind in (OpKind.CONV, OpKind.AVG_POOL)
        if needs_kernel != (self.kernel is not None):
            raise ValueError(f"op {self.kind} {'needs' if needs_kernel else 'takes no'} kernel size")
        if self.kernel is not None and self.kernel < 1:
            raise ValueError(f"kernel size must be >= 1, got {self.kernel}")

    @property
    def name(self) -> str:
        """The canonical name used in edge lists: zero, skip, linear, conv3x3, avg_pool_3x3."""
        if self.kind is OpKind.CONV:
            return f"conv{self.kernel}x{self.kernel}"
        if self.kind is OpKind.AVG_POOL:
            return f"avg_pool_{self.kernel}x{self.kernel}"
        return self.kind.value

    @property
    def parameterised(self) -> bool:
        """True for ops with weights (Linear or Conv followed by ReLU)."""
        return self.kind in (OpKind.LINEAR, OpKind.CONV)

    @property
    def is_zero(self) -> bool:
        return self.kind is OpKind.ZERO

    def __str__(self) -> str:
        return self.name


ZERO = Op(OpKind.ZERO)
SKIP = Op(OpKind.SKIP)
LINEAR = Op(OpKind.LINEAR)


def conv(kernel: int) -> Op:
    return Op(OpKind.CONV, kernel)


def avg_pool(kernel: int) -> Op:
    return Op(OpKind.AVG_POOL, kernel)


_ALIASES: dict[str, Op] = {
    "zero": ZERO,
    "none": ZERO,
    "skip": SKIP,
    "skip_connect": SKIP,
    "identity": SKIP,
    "linear": LINEAR,
}
_CONV = re.compile(r"^(?:nor_)?conv_?(\d+)x(\d+)$")
_POOL = re.compile(r"^avg_pool_(\d+)x(\d+)$")

OP_NAMES_HELP = "zero, skip, linear, convKxK (conv1x1, conv3x3, ...), avg_pool_KxK"


def op_from_name(name: str) -> Op:
    """Parse an op name (canonical or NAS-Bench-201 spelling); raise UserError naming the choices."""
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    for pattern, make in ((_CONV, conv), (_POOL, avg_pool)):
        match = pattern.match(key)
        if match:
            height, width = (int(g) for g in match.groups())
            if height != width or height < 1:
                raise UserError(f"unknown op '{name}': kernels must be square and >= 1 (e.g. conv3x3)")
            return make(height)
    raise UserError(f"unknown op '{name}'; known: {OP_NAMES_HELP}")
