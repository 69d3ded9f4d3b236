"""Building blocks shared by the DAG families: the parameterised edge and dimension-indexed layers.

`dims` is the number of spatial dimensions: 0 for an MLP, 1 for sequences (C, L), 2 for images
(C, H, W).
"""

from __future__ import annotations

from torch import Tensor, nn

from archscale.errors import UserError
from archscale.graph import Op
from archscale.nn.model import WeightLayer, describe_layer

CONV: dict[int, type[nn.Conv1d] | type[nn.Conv2d]] = {1: nn.Conv1d, 2: nn.Conv2d}
AVG_POOL: dict[int, type[nn.AvgPool1d] | type[nn.AvgPool2d]] = {1: nn.AvgPool1d, 2: nn.AvgPool2d}
GLOBAL_POOL: dict[int, type[nn.AdaptiveAvgPool1d] | type[nn.AdaptiveAvgPool2d]] = {
    1: nn.AdaptiveAvgPool1d,
    2: nn.AdaptiveAvgPool2d,
}
BATCH_NORM: dict[int, type[nn.BatchNorm1d] | type[nn.BatchNorm2d]] = {
    0: nn.BatchNorm1d,
    1: nn.BatchNorm1d,
    2: nn.BatchNorm2d,
}
ACTIVATIONS: dict[str, type[nn.ReLU] | type[nn.GELU]] = {"relu": nn.ReLU, "gelu": nn.GELU}
"""The nonlinearities a DAG block can use, by name (GELU is the exact, erf-based one: paper App. E.2)."""


def kernel_of(op: Op) -> int:
    """The kernel side of a conv or pooling op."""
    if op.kernel is None:
        raise ValueError(f"op {op.name} has no kernel")
    return op.kernel


def same_padding(kernel: int) -> int:
    """Padding that keeps the size at stride 1; only odd kernels have one."""
    if kernel % 2 == 0:
        raise UserError(f"kernel size {kernel} is even: 'same' padding needs an odd kernel (1, 3, 5, ...)")
    return (kernel - 1) // 2


def conv(dims: int, c_in: int, c_out: int, kernel: int, *, bias: bool = True) -> nn.Conv1d | nn.Conv2d:
    """A stride-1 convolution with 'same' padding."""
    return CONV[dims](c_in, c_out, kernel, padding=same_padding(kernel), bias=bias)


def avg_pool(dims: int, kernel: int) -> nn.AvgPool1d | nn.AvgPool2d:
    """A stride-1 average pool with 'same' padding that averages over real inputs only."""
    return AVG_POOL[dims](kernel, stride=1, padding=same_padding(kernel), count_include_pad=False)


class ParamBlock(nn.Module):
    """A parameterised edge (and the DAG stem): weight layer, optional BatchNorm, then the activation
    (`relu` or `gelu`, a key of `ACTIVATIONS`)."""

    def __init__(self, layer: WeightLayer, dims: int, batch_norm: bool, activation: str = "relu") -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise UserError(f"unknown activation '{activation}'; known: {', '.join(ACTIVATIONS)}")
        self.activation = activation
        self.layer = layer
        width = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
        self.norm: nn.Module = BATCH_NORM[dims](width) if batch_norm else nn.Identity()
        self.act = ACTIVATIONS[activation]()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.norm(self.layer(x)))

    def extra_repr(self) -> str:
        norm = "" if isinstance(self.norm, nn.Identity) else " + BN"
        return f"{describe_layer(self.layer)}{norm} + {type(self.act).__name__}"
