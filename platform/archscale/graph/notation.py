"""Every notation users bring, parsed into a canonical Graph and rendered back.

- DAG strings of the authors' MLP/CNN code: `2_02_002`; group k lists the ops of edges j→k
  (0 zero, 1 skip, 2 the parameterised op: Linear for MLPs, Conv for CNNs).
- NAS-Bench-201 digit codes: `3_33_133` (0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3,
  4 avg_pool_3x3).
- NAS-Bench-201 architecture strings: `|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|...|`.
- Edge lists: `[{from: 0, to: 1, op: conv3x3}, ...]` (YAML or JSON); absent edges are zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from archscale.errors import UserError
from archscale.graph.dag import Edge, Graph
from archscale.graph.ops import LINEAR, SKIP, ZERO, Op, OpKind, avg_pool, conv, op_from_name

NB201_OPS: tuple[Op, ...] = (ZERO, SKIP, conv(1), conv(3), avg_pool(3))
NB201_NAMES: dict[Op, str] = {
    ZERO: "none",
    SKIP: "skip_connect",
    conv(1): "nor_conv_1x1",
    conv(3): "nor_conv_3x3",
    avg_pool(3): "avg_pool_3x3",
}
_DIGIT_STRING = re.compile(r"^[0-9]+(?:_[0-9]+)*$")


def is_digit_string(text: str) -> bool:
    return bool(_DIGIT_STRING.match(text.strip()))


_DIGITS_UP_TO = {d: re.compile(rf"[0-{d}]+(?:_[0-{d}]+)*") for d in range(10)}


def digit_groups(text: str, max_digit: int, what: str) -> list[str]:
    """Split and validate a digit string: group k has exactly k digits, each at most `max_digit`."""
    text = text.strip()
    groups = text.split("_")
    if not _DIGITS_UP_TO[max_digit].fullmatch(text):
        if not _DIGIT_STRING.match(text):
            raise UserError(f"{what} '{text}' is malformed: expected digit groups joined by '_', e.g. 2_02_002")
        k, group = next((k, g) for k, g in enumerate(groups, start=1) if max(g) > str(max_digit))
        raise UserError(f"{what} '{text}': digit {max(group)} in group {k} is not an op (0..{max_digit})")
    for k, group in enumerate(groups, start=1):
        if len(group) != k:
            raise UserError(
                f"{what} '{text}': group {k} ('{group}') must have {k} digit{'s' if k > 1 else ''}, "
                f"one per edge into node {k}"
            )
    return groups


def digit_edges(text: str, max_digit: int, what: str) -> tuple[int, list[tuple[int, int, int]]]:
    """Validate a digit string; return its node count and `(src, dst, digit)` for non-zero digits."""
    groups = digit_groups(text, max_digit, what)
    edges = [(j, k, int(d)) for k, group in enumerate(groups, start=1) for j, d in enumerate(group) if d != "0"]
    return len(groups) + 1, edges


def parse_dag_string(text: str, block: Op = LINEAR) -> Graph:
    """Parse the authors' MLP/CNN DAG string; digit 2 becomes `block` (Linear, or a Conv of the model)."""
    ops = (ZERO, SKIP, block)
    num_nodes, edges = digit_edges(text, 2, "DAG string")
    return Graph.build(num_nodes, [Edge(j, k, ops[d]) for j, k, d in edges])


def parse_nb201_code(text: str) -> Graph:
    """Parse a NAS-Bench-201 digit code such as `3_33_133`."""
    num_nodes, edges = digit_edges(text, 4, "NAS-Bench-201 code")
    return Graph.build(num_nodes, [Edge(j, k, NB201_OPS[d]) for j, k, d in edges])


_NB201_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


def parse_nb201_string(text: str) -> Graph:
    """Parse a NAS-Bench-201 architecture string; group k must list each input 0..k-1 once."""
    text = text.strip()
    by_name = {name: op for op, name in NB201_NAMES.items()}
    groups = text.split("+")
    edges: list[Edge] = []
    for k, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|") and len(group) > 2):
            raise UserError(f"NAS-Bench-201 string: group {k} ('{group}') must look like |op~0|op~1|")
        sources: list[int] = []
        for token in group[1:-1].split("|"):
            match = _NB201_TOKEN.match(token)
            if not match:
                raise UserError(f"NAS-Bench-201 string: '{token}' in group {k} must look like op~j")
            name, src = match.group(1), int(match.group(2))
            if name not in by_name:
                raise UserError(f"NAS-Bench-201 string: unknown op '{name}'; known: {', '.join(NB201_NAMES.values())}")
            sources.append(src)
            edges.append(Edge(src, k, by_name[name]))
        if sorted(sources) != list(range(k)):
            raise UserError(f"NAS-Bench-201 string: group {k} must list inputs 0..{k - 1} once each, got {sources}")
    return Graph.build(len(groups) + 1, edges)


def parse_edge_list(items: Sequence[Any]) -> Graph:
    """Parse `[{from, to, op}, ...]`; the node count is the largest node number plus one."""
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise UserError("an edge list must be a non-empty list of {from, to, op} entries")
    edges: list[Edge] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or set(item) != {"from", "to", "op"}:
            raise UserError(f"edge list entry {index} must have exactly the keys from, to, op; got {item!r}")
        src, dst, op = item["from"], item["to"], item["op"]
        if not (isinstance(src, int) and isinstance(dst, int)) or isinstance(src, bool):
            raise UserError(f"edge list entry {index}: 'from' and 'to' must be node numbers, got {item!r}")
        if not isinstance(op, str):
            raise UserError(f"edge list entry {index}: 'op' must be a name, got {op!r}")
        edges.append(Edge(src, dst, op_from_name(op)))
    return Graph.build(max(max(e.src, e.dst) for e in edges) + 1, edges)


def _dense_groups(graph: Graph, code: dict[Op, int], what: str) -> str:
    groups = []
    for k in range(1, graph.num_nodes):
        digits = []
        for j in range(k):
            op = graph.op(j, k) or ZERO
            if op not in code:
                raise UserError(f"op {op.name} on edge {j}->{k} cannot be written as a {what}")
            digits.append(str(code[op]))
        groups.append("".join(digits))
    return "_".join(groups)


def block_op(graph: Graph) -> Op | None:
    """The single parameterised op of a graph, None if it has none; raise if it mixes several."""
    blocks = {e.op for e in graph.edges if e.op.parameterised}
    if len(blocks) > 1:
        raise UserError(f"the graph mixes {sorted(o.name for o in blocks)}: no DAG string can express it")
    return blocks.pop() if blocks else None


def to_dag_string(graph: Graph) -> str:
    """Render as an MLP/CNN DAG string; raise UserError when the graph has ops it cannot express."""
    block = block_op(graph) or LINEAR
    return _dense_groups(graph, {ZERO: 0, SKIP: 1, block: 2}, "DAG string")


def to_nb201_code(graph: Graph) -> str:
    return _dense_groups(graph, {op: digit for digit, op in enumerate(NB201_OPS)}, "NAS-Bench-201 code")


def to_nb201_string(graph: Graph) -> str:
    groups = []
    for k in range(1, graph.num_nodes):
        tokens = []
        for j in range(k):
            op = graph.op(j, k) or ZERO
            if op not in NB201_NAMES:
                raise UserError(f"op {op.name} on edge {j}->{k} has no NAS-Bench-201 name")
            tokens.append(f"{NB201_NAMES[op]}~{j}")
        groups.append("|" + "|".join(tokens) + "|")
    return "+".join(groups)


def to_edge_list(graph: Graph) -> list[dict[str, int | str]]:
    return [{"from": e.src, "to": e.dst, "op": e.op.name} for e in graph.edges]


def fits_nb201(graph: Graph) -> bool:
    return all(e.op in NB201_NAMES for e in graph.edges)


def fits_dag_string(graph: Graph) -> bool:
    kinds = {e.op.kind for e in graph.edges}
    return OpKind.AVG_POOL not in kinds and len({e.op for e in graph.edges if e.op.parameterised}) <= 1
