"""Input→output path statistics by dynamic programming over the DAG (exact integers, O(edges)).

The number of paths grows exponentially (a complete DAG on N nodes has 2^(N-2)), so moments are
accumulated per node: if node j carries (count, Σd, Σd², Σd³) over its paths from the input, an
edge of depth increment w shifts them binomially, and a node sums its incoming edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from archscale.graph.dag import Graph
from archscale.graph.ops import Op


@dataclass(frozen=True)
class PathMoments:
    """Moments of the path depths L_p over all input→output paths."""

    count: int
    s1: int
    s2: int
    s3: int
    min_depth: int | None
    max_depth: int | None

    def shifted(self, w: int) -> PathMoments:
        """The moments after adding depth `w` to every path."""
        c, s1, s2, s3 = self.count, self.s1, self.s2, self.s3
        return PathMoments(
            c,
            s1 + w * c,
            s2 + 2 * w * s1 + w * w * c,
            s3 + 3 * w * s2 + 3 * w * w * s1 + w**3 * c,
            None if self.min_depth is None else self.min_depth + w,
            None if self.max_depth is None else self.max_depth + w,
        )

    def __add__(self, other: PathMoments) -> PathMoments:
        return PathMoments(
            self.count + other.count,
            self.s1 + other.s1,
            self.s2 + other.s2,
            self.s3 + other.s3,
            _opt(min, self.min_depth, other.min_depth),
            _opt(max, self.max_depth, other.max_depth),
        )


def _opt(pick: Callable[[int, int], int], a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else pick(a, b)


NO_PATHS = PathMoments(0, 0, 0, 0, None, None)


def depth_of_blocks(op: Op) -> int:
    """The usual depth increment: 1 for a parameterised op (a ReLU layer), 0 for skip or pooling."""
    return 1 if op.parameterised else 0


def path_moments(graph: Graph, increment: Callable[[Op], int] = depth_of_blocks, offset: int = 0) -> PathMoments:
    """Path count and Σ L_p, Σ L_p², Σ L_p³, min and max L_p, with L_p = offset + Σ increments."""
    at_node = [NO_PATHS] * graph.num_nodes
    at_node[0] = PathMoments(1, offset, offset**2, offset**3, offset, offset)
    for edge in graph.edges:  # sorted by target: every source is complete when read
        source = at_node[edge.src]
        if source.count:
            at_node[edge.dst] = at_node[edge.dst] + source.shifted(increment(edge.op))
    return at_node[graph.output]


def iter_paths(graph: Graph) -> Iterator[tuple[int, ...]]:
    """Enumerate input→output paths as node tuples (exponential: only for display and tests)."""
    outgoing: dict[int, list[int]] = {}
    for edge in graph.edges:
        outgoing.setdefault(edge.src, []).append(edge.dst)
    stack: list[tuple[int, ...]] = [(0,)]
    while stack:
        path = stack.pop()
        if path[-1] == graph.output:
            yield path
            continue
        stack.extend(path + (nxt,) for nxt in reversed(outgoing.get(path[-1], [])))
