"""NAS-Bench-201's TinyNetwork (Dong & Yang 2020; the authors' `models/tiny_network.py`).

stem Conv3x3+BN → N cells at C → residual reduction → N cells at 2C → residual reduction → N cells
at 4C → BN+ReLU → global average pool → Linear(4C→classes).

By default every cell is built as the benchmark's reference (xautodl's `InferCell`) builds it: every
non-zero edge, also those leaving a dead node, so parameter counts, FLOPs and the function computed
equal the reference's for every cell, those without an input→output path included. With
`prune_dead_edges` only the edges on an input→output path are built (a different function: a
ReLU-Conv-BN fed by a dead node still adds its BatchNorm's β in the reference).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from archscale.errors import UserError
from archscale.graph import Architecture, Edge, Family, Graph, OpKind
from archscale.nn.blocks import avg_pool, kernel_of, same_padding
from archscale.nn.dag import op_builder
from archscale.nn.model import (
    ArchModel,
    CellLayers,
    LayerMap,
    WeightLayer,
    describe_layer,
    edge_key,
    live_edges,
)
from archscale.nn.registry import ModelSpec, register_model

STEM_KERNEL = 3


class ConvBN(nn.Module):
    """[ReLU →] Conv2d (no bias) → BatchNorm2d (affine, running stats): NB201's ReLUConvBN and stem."""

    def __init__(self, c_in: int, c_out: int, kernel: int, *, stride: int = 1, pre_relu: bool = True) -> None:
        super().__init__()
        self.act: nn.Module = nn.ReLU() if pre_relu else nn.Identity()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=same_padding(kernel), bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.conv(self.act(x)))

    def extra_repr(self) -> str:
        relu = "ReLU + " if isinstance(self.act, nn.ReLU) else ""
        return f"{relu}{describe_layer(self.conv)} + BN"


class Cell(nn.Module):
    """A cell at `channels` channels: node 0 its input, the last node its output.

    Node k is the sum of its built incoming edges' outputs, or zeros when none is built (the reference
    sums `none` ops, i.e. zeros). Every non-zero edge is built and run, unless `prune_dead_edges`
    keeps only those on an input→output path; then a cell without such a path is a UserError.
    """

    def __init__(self, graph: Graph, channels: int, what: str, *, prune_dead_edges: bool) -> None:
        super().__init__()
        self.graph = graph
        self.channels = channels
        self.pruned = prune_dead_edges
        self._built = live_edges(graph, what) if prune_dead_edges else graph.edges
        self._incoming: tuple[tuple[Edge, ...], ...] = tuple(
            tuple(e for e in self._built if e.dst == node) for node in range(1, graph.num_nodes)
        )
        make_op = op_builder(
            {
                OpKind.SKIP: lambda _: nn.Identity(),
                OpKind.CONV: lambda op: ConvBN(channels, channels, kernel_of(op)),
                OpKind.AVG_POOL: lambda op: avg_pool(2, kernel_of(op)),
            },
            "NAS-Bench-201 cell",
        )
        self.edges = nn.ModuleDict({edge_key(e): make_op(e.op) for e in self._built})

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for incoming in self._incoming:
            total: Tensor | None = None
            for edge in incoming:
                out = self.edges[edge_key(edge)](nodes[edge.src])
                total = out if total is None else total + out
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]

    def extra_repr(self) -> str:
        built = "live edges" if self.pruned else "edges"
        return f"C={self.channels}, {self.graph.num_nodes} nodes, {len(self._built)} {built}"

    def layers(self) -> CellLayers:
        convs = {(e.src, e.dst): op.conv for e in self._built if isinstance(op := self.edges[edge_key(e)], ConvBN)}
        return CellLayers(self.graph, convs)


class ReductionBlock(nn.Module):
    """NB201's ResNetBasicblock at stride 2: conv_b(conv_a(x)) + Conv1x1(AvgPool2d(2)(x))."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ConvBN(c_out, c_out, 3)
        self.pool = nn.AvgPool2d(2, stride=2, padding=0)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(self.pool(x)) + self.conv_b(self.conv_a(x))

    def extra_repr(self) -> str:
        return f"{self.shortcut.in_channels}→{self.shortcut.out_channels}, stride 2"

    def layers(self) -> dict[str, WeightLayer]:
        return {"conv_a": self.conv_a.conv, "conv_b": self.conv_b.conv, "shortcut": self.shortcut}


class TinyNetwork(ArchModel):
    """The NAS-Bench-201 macro network with `cells` cells per stage and C = `channels`; see `Cell` for
    `prune_dead_edges`."""

    def __init__(
        self,
        arch: Architecture,
        channels: int,
        cells: int,
        classes: int,
        in_channels: int,
        *,
        prune_dead_edges: bool = False,
    ) -> None:
        super().__init__(arch)
        self.stem = ConvBN(in_channels, channels, STEM_KERNEL, pre_relu=False)
        blocks: list[nn.Module] = []
        width = channels
        what = f"NAS-Bench-201 cell '{arch.notation}'"
        for stage in range(3):
            if stage:
                blocks.append(ReductionBlock(width, 2 * width))
                width *= 2
            blocks += [Cell(arch.graph, width, what, prune_dead_edges=prune_dead_edges) for _ in range(cells)]
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self.cells:
            x = block(x)
        return self.classifier(self.pool(self.lastact(x)).flatten(1))

    def layer_map(self) -> LayerMap:
        return LayerMap(
            stem=self.stem.conv,
            cells=tuple(b.layers() for b in self.cells if isinstance(b, Cell)),
            readout=self.classifier,
            reductions=tuple(b.layers() for b in self.cells if isinstance(b, ReductionBlock)),
        )


@register_model(Family.NB201, default_width=16, default_input_shape=(3, 32, 32))
def nb201(arch: Architecture, spec: ModelSpec) -> TinyNetwork:
    """TinyNetwork for `arch`'s cell (every edge built unless `spec.prune_dead_edges`); the input must
    be (C, H, W) with H and W divisible by 4."""
    shape = spec.input_shape
    if len(shape) != 3 or shape[1] % 4 or shape[2] % 4:
        raise UserError(f"NAS-Bench-201 needs input shape (C, H, W) with H and W divisible by 4, got {shape}")
    return TinyNetwork(arch, spec.width, spec.cells, spec.classes, shape[0], prune_dead_edges=spec.prune_dead_edges)
