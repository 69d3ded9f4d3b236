"""Input→output path statistics by dynamic programming over the DAG (exact integers, O(edges)).

The number of paths grows exponentially (a complete DAG on N nodes has 2^(N-2)), so moments are
accumulated per node: if node j carries (count, Σd, Σd², Σd³) over its paths from the input, an
edge of depth increment w shifts them binomially, and a node sums its incoming edges.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from archscale.graph.dag import Graph
from archscale.graph.ops import Op


class PathMoments(NamedTuple):
    """Moments of the path depths L_p over all input→output paths."""

    count: int
    s1: int
    s2: int
    s3: int
    min_depth: int | None
    max_depth: int | None


NO_PATHS = PathMoments(0, 0, 0, 0, None, None)


def depth_of_blocks(op: Op) -> int:
    """The usual depth increment: 1 for a parameterised op (a ReLU layer), 0 for skip or pooling."""
    return 1 if op.parameterised else 0


def moments_of(num_nodes: int, weighted_edges: Iterable[tuple[int, int, int]], offset: int = 0) -> PathMoments:
    """The DP itself, over `(src, dst, increment)` triples sorted by target; node num_nodes-1 is the output."""
    # Parallel lists of plain ints: this loop is the hot path of `archscale lr` over large batches.
    count = [0] * num_nodes
    s1, s2, s3 = [0] * num_nodes, [0] * num_nodes, [0] * num_nodes
    lo, hi = [0] * num_nodes, [0] * num_nodes
    count[0], s1[0], s2[0], s3[0], lo[0], hi[0] = 1, offset, offset * offset, offset**3, offset, offset
    for src, dst, w in weighted_edges:
        c = count[src]
        if not c:
            continue
        a1, a2, a3, a_lo, a_hi = s1[src], s2[src], s3[src], lo[src] + w, hi[src] + w
        if w:
            a3 += 3 * w * a2 + 3 * w * w * a1 + w * w * w * c
            a2 += 2 * w * a1 + w * w * c
            a1 += w * c
        if count[dst]:
            if a_lo < lo[dst]:
                lo[dst] = a_lo
            if a_hi > hi[dst]:
                hi[dst] = a_hi
        else:
            lo[dst], hi[dst] = a_lo, a_hi
        count[dst] += c
        s1[dst] += a1
        s2[dst] += a2
        s3[dst] += a3
    out = num_nodes - 1
    if not count[out]:
        return NO_PATHS
    return PathMoments(count[out], s1[out], s2[out], s3[out], lo[out], hi[out])


def dense_moments(groups: Sequence[str], increments: Sequence[int], offset: int = 0) -> PathMoments:
    """`moments_of` for the dense digit form of DAG strings and NAS-Bench-201 codes: `groups[k-1][j]`
    is the digit of edge j→k, '0' no edge, digit d adds `increments[d]`. Same results, several times
    faster (no edge objects): the kernel behind `archscale lr` over whole search spaces."""
    nodes: list[tuple[int, int, int, int, int, int] | None] = [(1, offset, offset * offset, offset**3, offset, offset)]
    for group in groups:
        c = s1 = s2 = s3 = 0
        lo = hi = -1
        for j, digit in enumerate(group):
            source = nodes[j] if digit != "0" else None
            if source is None:
                continue
            a, a1, a2, a3, a_lo, a_hi = source
            w = increments[ord(digit) - 48]
            if w:
                a3 += 3 * w * a2 + 3 * w * w * a1 + w * w * w * a
                a2 += 2 * w * a1 + w * w * a
                a1 += w * a
                a_lo += w
                a_hi += w
            if not c or a_lo < lo:
                lo = a_lo
            if not c or a_hi > hi:
                hi = a_hi
            c += a
            s1 += a1
            s2 += a2
            s3 += a3
        nodes.append((c, s1, s2, s3, lo, hi) if c else None)
    out = nodes[-1]
    return NO_PATHS if out is None else PathMoments(*out)


def path_moments(graph: Graph, increment: Callable[[Op], int] = depth_of_blocks, offset: int = 0) -> PathMoments:
    """Path count and Σ L_p, Σ L_p², Σ L_p³, min and max L_p, with L_p = offset + Σ increments."""
    return moments_of(graph.num_nodes, ((e.src, e.dst, increment(e.op)) for e in graph.edges), offset)


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
        stack.extend((*path, nxt) for nxt in reversed(outgoing.get(path[-1], [])))


def path_depth(
    graph: Graph, path: Sequence[int], increment: Callable[[Op], int] = depth_of_blocks, offset: int = 0
) -> int:
    """L_p of one path given as its node sequence; KeyError if a step is not an edge."""
    return offset + sum(increment(graph.edge_op(a, b)) for a, b in itertools.pairwise(path))
