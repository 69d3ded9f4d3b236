"""Parsing and rendering of every architecture notation (paper-spec §2.3, §8 items 1-4)."""

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archscale.errors import UserError
from archscale.graph import Family, OpKind, parse_architecture
from archscale.graph.notation import (
    parse_dag_string,
    parse_nb201_code,
    parse_nb201_string,
    to_dag_string,
    to_edge_list,
    to_nb201_code,
    to_nb201_string,
)

TOP_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
API_INDEX_0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def dense(graph) -> list[list[str]]:
    return [[(graph.op(j, k).name if graph.op(j, k) else "zero") for j in range(k)] for k in range(1, graph.num_nodes)]


def test_dag_string_groups():
    graph = parse_dag_string("2_02_002")
    assert dense(graph) == [["linear"], ["zero", "linear"], ["zero", "zero", "linear"]]
    assert [(e.src, e.dst) for e in graph.edges] == [(0, 1), (1, 2), (2, 3)]


def test_nb201_code_groups():
    graph = parse_nb201_code("3_33_133")
    assert dense(graph) == [["conv3x3"], ["conv3x3", "conv3x3"], ["skip", "conv3x3", "conv3x3"]]


@pytest.mark.parametrize(("code", "text"), [("3_33_133", TOP_CELL), ("4_21_211", API_INDEX_0)])
def test_nb201_code_to_string(code, text):
    assert to_nb201_string(parse_nb201_code(code)) == text
    assert to_nb201_code(parse_nb201_string(text)) == code
    assert parse_architecture(text) == parse_architecture(code)


def test_edge_list_matches_other_notations():
    edges = [
        {"from": 0, "to": 1, "op": "conv3x3"},
        {"from": 0, "to": 2, "op": "conv3x3"},
        {"from": 1, "to": 2, "op": "conv3x3"},
        {"from": 0, "to": 3, "op": "skip"},
        {"from": 1, "to": 3, "op": "conv3x3"},
        {"from": 2, "to": 3, "op": "conv3x3"},
    ]
    assert parse_architecture(edges, "nb201").graph == parse_nb201_code("3_33_133")
    assert to_edge_list(parse_nb201_code("3_33_133")) == sorted(edges, key=lambda e: (e["to"], e["from"]))


def test_edge_list_general_kernels_and_zero_edges():
    arch = parse_architecture(
        [
            {"from": 0, "to": 1, "op": "conv5x5"},
            {"from": 1, "to": 2, "op": "conv7x7"},
            {"from": 0, "to": 2, "op": "zero"},
        ]
    )
    assert arch.family is Family.CNN
    assert [e.op.kernel for e in arch.graph.edges] == [5, 7]
    assert arch.kernel_size == 7


def test_edge_list_from_json_text():
    arch = parse_architecture('[{"from": 0, "to": 1, "op": "linear"}]')
    assert arch.family is Family.MLP
    assert to_dag_string(arch.graph) == "2"


def test_family_inference_and_cnn_kernel():
    assert parse_architecture("2_02_002").family is Family.MLP
    assert parse_architecture("3_33_133").family is Family.NB201
    assert parse_architecture("2_02_002", "nb201").graph.edges[0].op.name == "conv1x1"
    cnn = parse_architecture("2_02_002", "cnn", kernel_size=5)
    assert cnn.family is Family.CNN and cnn.kernel_size == 5
    assert {e.op.name for e in cnn.graph.edges} == {"conv5x5"}
    assert cnn.notation == "2_02_002"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty architecture"),
        ("2_2", "group 2 ('2') must have 2 digits"),
        ("2_02_0020", "group 3 ('0020') must have 3 digits"),
        ("2_03", None),  # digit 3 makes it a NAS-Bench-201 code, which is valid
        ("2_0a", "cannot read architecture '2_0a'"),
        ("5_55_555", "digit 5 in group 1 is not an op (0..2)"),
        ("3_55", "digit 5 in group 2 is not an op (0..4)"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "group 2 must list inputs 0..1 once each"),
        ("|conv~0|", "unknown op 'conv'"),
        ("|nor_conv_3x3-0|", "must look like op~j"),
        ("nor_conv_3x3~0", "cannot read architecture"),
        ("[{", "edge list is not valid JSON"),
    ],
)
def test_malformed_text_names_the_problem(text, message):
    if message is None:
        parse_architecture(text)
        return
    with pytest.raises(UserError, match=re.escape(message)):
        parse_architecture(text)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ([], "non-empty list"),
        ([{"from": 1, "to": 0, "op": "linear"}], "edge 1->0 is invalid"),
        ([{"from": 0, "to": 1, "op": "linear"}, {"from": 0, "to": 1, "op": "skip"}], "edge 0->1 is given twice"),
        ([{"from": 0, "to": 1}], "exactly the keys from, to, op"),
        ([{"from": 0, "to": 1, "op": "conv3x5"}], "kernels must be square"),
        ([{"from": 0, "to": 1, "op": "gelu"}], "unknown op 'gelu'"),
        ([{"from": "a", "to": 1, "op": "skip"}], "must be node numbers"),
    ],
)
def test_malformed_edge_list_names_the_problem(edges, message):
    with pytest.raises(UserError, match=message):
        parse_architecture(edges)


def test_family_contradicting_notation_is_an_error():
    with pytest.raises(UserError, match="does not fit family mlp"):
        parse_architecture(TOP_CELL, "mlp")
    with pytest.raises(UserError, match="MLP edge list"):
        parse_architecture([{"from": 0, "to": 1, "op": "conv3x3"}], "mlp")
    with pytest.raises(UserError, match="unknown family 'resnet'"):
        parse_architecture("2", "resnet")


def test_every_five_node_dag_string_round_trips():
    for digits in itertools.product("012", repeat=10):
        d = "".join(digits)
        text = "_".join((d[0], d[1:3], d[3:6], d[6:10]))
        assert to_dag_string(parse_dag_string(text)) == text


def test_every_nb201_code_round_trips_through_both_notations():
    for digits in itertools.product("01234", repeat=6):
        d = "".join(digits)
        code = "_".join((d[0], d[1:3], d[3:6]))
        graph = parse_nb201_code(code)
        assert to_nb201_code(graph) == code
        assert parse_nb201_string(to_nb201_string(graph)) == graph


@st.composite
def dag_strings(draw, max_digit: int = 2, max_nodes: int = 12) -> str:
    nodes = draw(st.integers(2, max_nodes))
    return "_".join("".join(str(draw(st.integers(0, max_digit))) for _ in range(k)) for k in range(1, nodes))


@given(dag_strings())
def test_random_dag_strings_round_trip_through_edge_lists(text):
    arch = parse_architecture(text)
    assert arch.notation == text
    if arch.graph.edges and arch.graph.edges[-1].dst == arch.graph.output:
        assert parse_architecture(to_edge_list(arch.graph), "mlp").graph == arch.graph


@given(dag_strings(max_digit=4, max_nodes=7))
def test_random_nb201_codes_round_trip(text):
    graph = parse_nb201_code(text)
    assert to_nb201_code(graph) == text
    assert to_nb201_code(parse_nb201_string(to_nb201_string(graph))) == text


def test_rendering_refuses_what_a_notation_cannot_express():
    mixed = parse_architecture([{"from": 0, "to": 1, "op": "conv3x3"}, {"from": 1, "to": 2, "op": "conv5x5"}])
    with pytest.raises(UserError, match="no DAG string"):
        to_dag_string(mixed.graph)
    with pytest.raises(UserError, match="no NAS-Bench-201 name"):
        to_nb201_string(mixed.graph)
    assert mixed.notation.startswith("[")
    assert OpKind.CONV in {e.op.kind for e in mixed.graph.edges}
