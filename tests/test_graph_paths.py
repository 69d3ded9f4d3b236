"""In-degrees, reachability and the path-moment DP against brute-force enumeration (§8 items 5, 13)."""

import itertools
import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archscale.graph import Edge, Graph, iter_paths, parse_architecture, path_moments
from archscale.graph.notation import NB201_OPS
from archscale.graph.ops import LINEAR, SKIP
from archscale.graph.paths import dense_moments, depth_of_blocks, path_depth


@pytest.mark.parametrize(
    ("arch", "family", "degrees"),
    [
        ("2_22_222_2222", "mlp", [1, 1, 2, 3, 4]),
        ("1_11_111_1112", "mlp", [1, 1, 2, 3, 4]),
        ("2_10_011_0001", "mlp", [1, 1, 1, 2, 1]),
        ("0_02_002_0002", "mlp", [1, 0, 1, 1, 1]),
        ("3_33_133", "nb201", [1, 1, 2, 3]),
        ("4_24_440", "nb201", [1, 1, 2, 2]),
    ],
)
def test_official_in_degrees(arch, family, degrees):
    # The authors' list appends the readout's degree 1 (paper-spec §8 item 5).
    assert [*parse_architecture(arch, family).graph.in_degrees(), 1] == [*degrees, 1]


def test_reachability_and_dead_nodes():
    graph = parse_architecture("2_20_202_2020").graph  # nodes 1 and 3 lead nowhere
    assert graph.dead_nodes() == (1, 3)
    assert graph.has_path()
    no_path = parse_architecture("0_02_002_0002").graph
    assert not no_path.has_path()
    assert no_path.reachable_from_input() == frozenset({0})
    assert set(no_path.dead_nodes()) == {0, 1, 2, 3, 4}


def brute_force(graph: Graph, offset: int) -> tuple[int, int, int, int, int | None, int | None]:
    depths = [path_depth(graph, p, offset=offset) for p in iter_paths(graph)]
    return (
        len(depths),
        sum(depths),
        sum(d**2 for d in depths),
        sum(d**3 for d in depths),
        min(depths, default=None),
        max(depths, default=None),
    )


@pytest.mark.parametrize(
    ("arch", "depths"),
    [
        ("2_22_222_2222", [7, 6, 6, 5, 6, 5, 5, 4]),
        ("2_12_122_1222", [7, 6, 6, 5, 5, 4, 4, 3]),
        ("2_20_202_2020", [5, 4]),
        ("2_10_011_0001", [4, 3]),
        ("1_11_111_1112", [4, 3, 4, 3, 4, 3, 4, 3]),
    ],
)
def test_official_path_depths(arch, depths):
    graph = parse_architecture(arch).graph
    assert sorted(path_depth(graph, p, offset=3) for p in iter_paths(graph)) == sorted(depths)
    moments = path_moments(graph, offset=3)
    assert moments.count == len(depths)
    assert moments.s3 == sum(d**3 for d in depths)


def test_dp_equals_enumeration_over_both_whole_spaces():
    for digits in itertools.product("012", repeat=10):
        d = "".join(digits)
        groups = [d[0], d[1:3], d[3:6], d[6:10]]
        graph = parse_architecture("_".join(groups)).graph
        expected = brute_force(graph, 3)
        assert tuple(path_moments(graph, offset=3)) == expected
        assert tuple(dense_moments(groups, [0, 0, 1], 3)) == expected
    nb201_increments = [depth_of_blocks(op) for op in NB201_OPS]
    for digits in itertools.product("01234", repeat=6):
        d = "".join(digits)
        groups = [d[0], d[1:3], d[3:6]]
        graph = parse_architecture("_".join(groups), "nb201").graph
        expected = brute_force(graph, 1)
        assert tuple(path_moments(graph, offset=1)) == expected
        assert tuple(dense_moments(groups, nb201_increments, 1)) == expected


@st.composite
def random_graphs(draw) -> Graph:
    nodes = draw(st.integers(2, 9))
    ops = st.sampled_from([None, SKIP, LINEAR])
    edges = [Edge(j, k, op) for k in range(1, nodes) for j in range(k) if (op := draw(ops)) is not None]
    return Graph.build(nodes, edges)


@given(random_graphs(), st.integers(0, 5))
def test_dp_equals_enumeration_on_random_dags(graph, offset):
    assert tuple(path_moments(graph, offset=offset)) == brute_force(graph, offset)


def test_complete_100_node_dag_is_exact_and_instant():
    n = 100
    graph = Graph.build(n, [Edge(j, k, LINEAR) for k in range(1, n) for j in range(k)])
    start = time.perf_counter()
    moments = path_moments(graph, offset=0)
    elapsed = time.perf_counter() - start
    # A path visits m of the 98 inner nodes and so crosses m + 1 linear edges.
    inner = n - 2
    assert moments.count == 2**inner
    assert moments.s3 == sum(math.comb(inner, m) * (m + 1) ** 3 for m in range(inner + 1))
    assert (moments.min_depth, moments.max_depth) == (1, n - 1)
    assert elapsed < 0.5
