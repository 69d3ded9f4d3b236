"""The canonical architecture graph: nodes 0..N-1 (0 the input, N-1 the output), edges j→k with j<k."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from archscale.errors import UserError
from archscale.graph.ops import Op, OpKind


class Edge(NamedTuple):
    """An edge from node `src` to node `dst` (src < dst) computing `op`."""

    src: int
    dst: int
    op: Op


_by_target = itemgetter(1, 0)


@dataclass(frozen=True)
class Graph:
    """An immutable DAG in canonical form: zero edges are dropped, edges sorted by (dst, src).

    Build it with `Graph.build`, which validates; equal graphs compare and hash equal.
    """

    num_nodes: int
    edges: tuple[Edge, ...]

    @classmethod
    def build(cls, num_nodes: int, edges: Iterable[Edge]) -> Graph:
        """Validate and canonicalise; raise UserError on a malformed graph."""
        if num_nodes < 2:
            raise UserError(f"a graph needs at least 2 nodes (input and output), got {num_nodes}")
        edges = list(edges)
        for edge in edges:
            if not 0 <= edge.src < edge.dst < num_nodes:
                raise UserError(
                    f"edge {edge.src}->{edge.dst} is invalid: edges must go from a lower to a higher "
                    f"node within 0..{num_nodes - 1}"
                )
        if len({(e.src, e.dst) for e in edges}) != len(edges):
            pairs = [(e.src, e.dst) for e in edges]
            src, dst = next(p for p in pairs if pairs.count(p) > 1)
            raise UserError(f"edge {src}->{dst} is given twice")
        kept = sorted((e for e in edges if e.op.kind is not OpKind.ZERO), key=_by_target)
        return cls(num_nodes, tuple(kept))

    @property
    def output(self) -> int:
        return self.num_nodes - 1

    def op(self, src: int, dst: int) -> Op | None:
        """The op on edge src→dst, or None where the edge is zero/absent."""
        return self._ops.get((src, dst))

    def edge_op(self, src: int, dst: int) -> Op:
        """The op on edge src→dst; KeyError when there is no such (non-zero) edge."""
        return self._ops[(src, dst)]

    @cached_property
    def _ops(self) -> dict[tuple[int, int], Op]:
        return {(e.src, e.dst): e.op for e in self.edges}

    def incoming(self, node: int) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.dst == node)

    def in_degrees(self) -> tuple[int, ...]:
        """The official in-degree convention: non-zero incoming edges of any op; node 0 counts 1."""
        degrees = [0] * self.num_nodes
        degrees[0] = 1
        for edge in self.edges:
            degrees[edge.dst] += 1
        return tuple(degrees)

    def reachable_from_input(self) -> frozenset[int]:
        reached = {0}
        for edge in self.edges:  # sorted by dst, so sources are settled before their targets
            if edge.src in reached:
                reached.add(edge.dst)
        return frozenset(reached)

    def reaching_output(self) -> frozenset[int]:
        reaching = {self.output}
        for edge in sorted(self.edges, key=lambda e: -e.src):
            if edge.dst in reaching:
                reaching.add(edge.src)
        return frozenset(reaching)

    def live_nodes(self) -> frozenset[int]:
        """Nodes on at least one input→output path."""
        return self.reachable_from_input() & self.reaching_output()

    def dead_nodes(self) -> tuple[int, ...]:
        """Nodes on no input→output path (their computation cannot affect the output)."""
        live = self.live_nodes()
        return tuple(n for n in range(self.num_nodes) if n not in live)

    def has_path(self) -> bool:
        return self.output in self.reachable_from_input()

    def live_edges(self) -> tuple[Edge, ...]:
        """Edges on at least one input→output path."""
        live = self.live_nodes()
        return tuple(e for e in self.edges if e.src in live and e.dst in live)

    def describe(self) -> str:
        """A stable text form: `N=4;0>1:conv3x3;...` (the input of `digest`)."""
        body = ";".join(f"{e.src}>{e.dst}:{e.op.name}" for e in self.edges)
        return f"N={self.num_nodes};{body}"

    def digest(self) -> str:
        return hashlib.sha256(self.describe().encode()).hexdigest()
