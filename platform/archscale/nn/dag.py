"""The DAG network of the authors' MLP/CNN code (paper-spec §2.2), for any canonical graph.

node 0 = stem(x); node k = Σ_{j→k} op_jk(node j) over live edges only; logits =
readout(pool(node N-1)). Nodes are sums of post-activation (ReLU, or GELU) block outputs and skip
copies (D2).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from torch import Tensor, nn

from archscale.errors import UserError
from archscale.graph import Architecture, Edge, Op, OpKind
from archscale.nn.blocks import ParamBlock
from archscale.nn.model import ArchModel, CellLayers, LayerMap, edge_key, live_edges

OpBuilder = Callable[[Op], nn.Module]


def op_builder(table: Mapping[OpKind, OpBuilder], family: str) -> OpBuilder:
    """Build an edge module from a family's table of op kinds; other kinds are a UserError."""

    def build(op: Op) -> nn.Module:
        if op.kind not in table:
            known = ", ".join(kind.value for kind in table)
            raise UserError(f"a {family} cannot use op {op.name} (it supports {known})")
        return table[op.kind](op)

    return build


def evaluate(live: Sequence[Edge], ops: nn.ModuleDict, x: Tensor) -> dict[int, Tensor]:
    """Run a graph from node 0 = `x`: node k = Σ ops[j→k](node j) over `live` (sorted by target)."""
    nodes = {0: x}
    for edge in live:  # sorted by target: a source is complete before it is read
        out = ops[edge_key(edge)](nodes[edge.src])
        nodes[edge.dst] = nodes[edge.dst] + out if edge.dst in nodes else out
    return nodes


class DagNet(ArchModel):
    """stem → DAG → pool → readout; edges off every input→output path are neither built nor run.

    `pool` reduces the last node to (batch, width) (identity for MLPs, global average for CNNs);
    `flatten_input` flattens each sample before the stem (MLPs).
    """

    def __init__(
        self,
        arch: Architecture,
        stem: ParamBlock,
        make_op: OpBuilder,
        pool: nn.Module,
        readout: nn.Linear,
        *,
        flatten_input: bool,
    ) -> None:
        super().__init__(arch)
        self._live = live_edges(arch.graph, f"architecture '{arch.notation}'")
        self.flatten_input = flatten_input
        self.stem = stem
        self.edges = nn.ModuleDict({edge_key(e): make_op(e.op) for e in self._live})
        self.pool = pool
        self.readout = readout

    @property
    def activation(self) -> str:
        """The nonlinearity of the stem and every parameterised edge (`relu` or `gelu`)."""
        return self.stem.activation

    def node_activations(self, x: Tensor) -> dict[int, Tensor]:
        """Every live node's value for input `x`, keyed by node number (0 = stem output)."""
        return evaluate(self._live, self.edges, self.stem(x.flatten(1) if self.flatten_input else x))

    def forward(self, x: Tensor) -> Tensor:
        last = self.node_activations(x)[self.arch.graph.output]
        return self.readout(self.pool(last).flatten(1))

    def layer_map(self) -> LayerMap:
        edges = {
            (e.src, e.dst): module.layer
            for e in self._live
            if isinstance(module := self.edges[edge_key(e)], ParamBlock)
        }
        return LayerMap(stem=self.stem.layer, cells=(CellLayers(self.arch.graph, edges),), readout=self.readout)
