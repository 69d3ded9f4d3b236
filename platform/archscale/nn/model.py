"""What every archscale model exposes: its architecture and a map from graph roles to layers.

Init schemes and diagnostics never parse module names; they ask the model for its `LayerMap`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from torch import nn

from archscale.errors import UserError
from archscale.graph import Architecture, Edge, Graph

WeightLayer: TypeAlias = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
"""A layer whose weight an init scheme draws."""

WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def describe_layer(layer: WeightLayer) -> str:
    """A short description: `Linear 40→128`, `Conv2d 16→32 k3 s2`."""
    if isinstance(layer, nn.Linear):
        return f"Linear {layer.in_features}→{layer.out_features}"
    stride = f" s{layer.stride[0]}" if layer.stride[0] != 1 else ""
    return f"{type(layer).__name__} {layer.in_channels}→{layer.out_channels} k{layer.kernel_size[0]}{stride}"


@dataclass(frozen=True)
class CellLayers:
    """One instance of the architecture graph: the weight layer of each parameterised edge it built."""

    graph: Graph
    edges: Mapping[tuple[int, int], WeightLayer]


@dataclass(frozen=True)
class LayerMap:
    """The weight layers of a model by role.

    `cells` holds one entry per instance of the graph (one for DAG models, one per cell for
    NAS-Bench-201); `reductions` holds NAS-Bench-201's residual reduction blocks, each keyed
    `conv_a`, `conv_b`, `shortcut`.
    """

    stem: WeightLayer
    cells: tuple[CellLayers, ...]
    readout: nn.Linear
    reductions: tuple[Mapping[str, WeightLayer], ...] = ()


class ArchModel(nn.Module, ABC):
    """A torch model built from an `Architecture`: `forward` maps a batch (B, *input_shape) to
    logits (B, classes); `layer_map` names the weight layer behind every role."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch

    @abstractmethod
    def layer_map(self) -> LayerMap:
        """The model's weight layers by role (the same module objects the model runs)."""


def edge_key(edge: Edge) -> str:
    """The ModuleDict key of an edge (`e0_3`; module names may not contain dots)."""
    return f"e{edge.src}_{edge.dst}"


def live_edges(graph: Graph, what: str) -> tuple[Edge, ...]:
    """The edges to build and compute: those on an input→output path.

    Raise UserError when the output is unreachable, since such a network's output is constant.
    """
    if not graph.has_path():
        raise UserError(f"{what} has no input→output path; its output would not depend on the input")
    return graph.live_edges()
