"""Models built from architecture graphs: structure, parameter counts, liveness, FLOPs, registry."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archscale.errors import UserError
from archscale.graph import Family, parse_architecture
from archscale.nn import (
    DagNet,
    TinyNetwork,
    build_model,
    count_flops,
    count_params,
    layer_summary,
    list_families,
    register_model,
)
from archscale.nn.nb201 import ReductionBlock

torch.set_num_threads(1)

NB201_TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.mark.parametrize(
    ("arch", "channels", "cells", "expected", "pruned"),
    [
        (NB201_TOP, 16, 5, 1_288_506, 1_288_506),
        ("3_33_133", 8, 1, 79_778, 79_778),
        ("0_10_331", 16, 5, 559_386, 316_346),  # dead node 1 feeds a conv3x3: built unless pruned
    ],
)
def test_nb201_parameter_count_matches_the_benchmark(arch, channels, cells, expected, pruned):
    """Counts of the benchmark's reference implementation (tests/test_nn_nb201_reference.py checks
    hundreds of cells against it)."""
    model = build_model(parse_architecture(arch, "nb201"), width=channels, cells=cells, classes=10)
    assert isinstance(model, TinyNetwork)
    assert count_params(model) == expected
    trimmed = build_model(parse_architecture(arch, "nb201"), width=channels, cells=cells, prune_dead_edges=True)
    assert count_params(trimmed) == pruned


def test_nb201_structure_and_forward():
    model = build_model(parse_architecture("3_33_133"), width=8, cells=1, input_shape=(3, 16, 16))
    layers = model.layer_map()
    assert len(layers.cells) == 3 and len(layers.reductions) == 2
    assert [cell.edges[(0, 1)].in_channels for cell in layers.cells] == [8, 16, 32]
    assert set(layers.cells[0].edges) == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}  # 0→3 is a skip
    assert layers.stem.in_channels == 3 and layers.stem.bias is None
    reduction = layers.reductions[0]
    assert reduction["conv_a"].stride == (2, 2) and reduction["shortcut"].kernel_size == (1, 1)
    assert all(layer.bias is None for block in layers.reductions for layer in block.values())
    assert layers.readout.in_features == 32
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(bn.affine and bn.track_running_stats for bn in bns)
    out = model(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 10)
    out.sum().backward()


@pytest.mark.parametrize(
    ("text", "prune", "built", "convs"),
    [
        ("0_10_331", False, {"e0_2", "e0_3", "e1_3", "e2_3"}, {(0, 3), (1, 3)}),  # node 1 is dead; 1→3 is built
        ("0_10_331", True, {"e0_2", "e0_3", "e2_3"}, {(0, 3)}),
        ("3_30_100", False, {"e0_1", "e0_2", "e0_3"}, {(0, 1), (0, 2)}),  # nodes 1 and 2 reach no output
        ("3_30_100", True, {"e0_3"}, set()),
    ],
)
def test_nb201_builds_every_edge_unless_pruned(text, prune, built, convs):
    model = build_model(parse_architecture(text, "nb201"), width=4, cells=1, prune_dead_edges=prune)
    cells = [block for block in model.cells if not isinstance(block, ReductionBlock)]
    assert len(cells) == 3 and all(set(cell.edges.keys()) == built for cell in cells)
    assert all(set(cell.edges) == convs for cell in model.layer_map().cells)


def test_nb201_cell_without_a_path_outputs_the_batch_norm_beta_of_its_dead_convs():
    """As in the benchmark: node 1 is zeros (`none` from the input), so ReLU-Conv-BN 1→3 yields its β."""
    model = build_model(parse_architecture("0_00_030", "nb201"), width=4, cells=1, input_shape=(3, 8, 8))
    cell = model.cells[0]
    beta = torch.linspace(-1.0, 1.0, 4)
    with torch.no_grad():
        cell.edges["e1_3"].norm.bias.copy_(beta)
    for train in (True, False):
        cell.train(train)
        out = cell(torch.randn(2, 4, 8, 8))
        torch.testing.assert_close(out, beta.view(1, 4, 1, 1).expand(2, 4, 8, 8))
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_nb201_cells_with_more_nodes_and_pooling():
    arch = parse_architecture("4_21_211_4321", "nb201")  # 5-node cell with avg-pool and conv1x1
    model = build_model(arch, width=4, cells=1, input_shape=(3, 8, 8))
    pools = [m for m in model.modules() if isinstance(m, nn.AvgPool2d) and m.stride == 1]
    assert pools and all(not p.count_include_pad and p.padding == 1 for p in pools)
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_mlp_matches_a_hand_written_forward():
    model = build_model(parse_architecture("2_12"), width=6, input_shape=(2, 5), classes=3)
    assert isinstance(model, DagNet)
    x = torch.randn(4, 2, 5)
    stem, e01, e12 = model.stem.layer, model.edges["e0_1"].layer, model.edges["e1_2"].layer
    node0 = torch.relu(stem(x.flatten(1)))
    node1 = torch.relu(e01(node0))
    node2 = node0 + torch.relu(e12(node1))  # skip 0→2 plus block 1→2
    torch.testing.assert_close(model(x), model.readout(node2))
    assert stem.bias is not None and model.readout.bias is not None


@pytest.mark.parametrize(
    ("text", "live"),
    [
        ("2_02_020", {"e0_1", "e1_3"}),  # node 2 reaches no output
        ("0_22_022", {"e0_2", "e2_3"}),  # node 1 is unreachable from the input
    ],
)
def test_edges_off_every_path_are_neither_built_nor_run(text, live):
    model = build_model(parse_architecture(text), width=4)
    assert set(model.edges.keys()) == live
    nodes = model.node_activations(torch.randn(3, 1, 40))
    graph = model.arch.graph
    assert set(nodes) == set(range(graph.num_nodes)) - set(graph.dead_nodes())
    assert {f"e{s}_{d}" for s, d in model.layer_map().cells[0].edges} == live


@pytest.mark.parametrize(
    ("text", "family", "prune"),
    [("0_00_000", "mlp", False), ("0_02_002", "cnn", False), ("0_04_002", "nb201", True), ("3_00_003", "nb201", True)],
)
def test_no_input_output_path_is_refused_at_build_time(text, family, prune):
    """MLP/CNN DAGs and pruned NAS-Bench-201 cells; whole NAS-Bench-201 cells build (as the benchmark's)."""
    with pytest.raises(UserError, match="has no input→output path"):
        build_model(parse_architecture(text, family), width=4, cells=1, prune_dead_edges=prune)
    if family == "nb201":
        assert count_params(build_model(parse_architecture(text, family), width=4, cells=1)) > 0


@pytest.mark.parametrize("shape", [(1, 40), (3, 8, 8)])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_cnn_in_one_and_two_dimensions(shape, batch_norm):
    model = build_model(parse_architecture("2_12_122", "cnn", 5), width=4, input_shape=shape, batch_norm=batch_norm)
    dims = len(shape) - 1
    conv_type = nn.Conv1d if dims == 1 else nn.Conv2d
    convs = [m for m in model.modules() if isinstance(m, nn.Conv1d | nn.Conv2d)]
    assert all(type(c) is conv_type and c.kernel_size == (5,) * dims and c.bias is not None for c in convs)
    bn_type = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
    assert sum(isinstance(m, bn_type) for m in model.modules()) == (5 if batch_norm else 0)
    nodes = model.node_activations(torch.randn(2, *shape))
    assert all(node.shape == (2, 4, *shape[1:]) for node in nodes.values())
    assert model(torch.randn(2, *shape)).shape == (2, 10)


def test_cnn_edge_list_with_pooling_and_mixed_kernels():
    edges = [
        {"from": 0, "to": 1, "op": "avg_pool_3x3"},
        {"from": 1, "to": 2, "op": "conv5x5"},
        {"from": 0, "to": 2, "op": "conv1x1"},
    ]
    model = build_model(parse_architecture(edges, "cnn"), width=4, input_shape=(2, 12))
    pool = model.edges["e0_1"]
    assert isinstance(pool, nn.AvgPool1d) and not pool.count_include_pad
    assert model.layer_map().cells[0].edges[(1, 2)].kernel_size == (5,)
    assert model(torch.randn(3, 2, 12)).shape == (3, 10)


def test_mlp_batch_norm_after_stem_and_every_block():
    model = build_model(parse_architecture("2_12_122"), width=8, batch_norm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 5
    model.train()
    assert model(torch.randn(4, 1, 40)).shape == (4, 10)


@pytest.mark.parametrize(
    ("text", "family", "kwargs", "message"),
    [
        ("2_02", "cnn", {"input_shape": (40,)}, "needs input shape"),
        ("3_33_133", "nb201", {"input_shape": (3, 30, 30)}, "divisible by 4"),
        ("3_33_133", "nb201", {"input_shape": (1, 40)}, "divisible by 4"),
        ("2_02", "mlp", {"width": 0}, "width must be >= 1"),
        ("2_02", "mlp", {"input_shape": (0, 3)}, "positive sizes"),
        ("2_02", "cnn", {"classes": 0}, "classes must be >= 1"),
    ],
)
def test_sizes_a_family_cannot_take_are_user_errors(text, family, kwargs, message):
    with pytest.raises(UserError, match=message):
        build_model(parse_architecture(text, family), **kwargs)


def test_even_kernels_are_refused():
    with pytest.raises(UserError, match="odd kernel"):
        build_model(parse_architecture([{"from": 0, "to": 1, "op": "conv4x4"}], "cnn"), width=4)


def test_registry_lists_and_guards_families():
    assert list_families() == ["cnn", "mlp", "nb201"]
    assert list_families("n*") == ["nb201"]
    with pytest.raises(ValueError, match="already registered"):
        register_model(Family.MLP, default_width=1, default_input_shape=(1,))(lambda arch, spec: None)


def test_family_defaults():
    mlp = build_model(parse_architecture("2"))
    assert mlp.stem.layer.in_features == 40 and mlp.stem.layer.out_features == 128
    cnn = build_model(parse_architecture("2", "cnn"))
    assert cnn.stem.layer.out_channels == 32
    nb = build_model(parse_architecture("1_01_001", "nb201"), cells=1)
    assert nb.stem.conv.out_channels == 16 and nb.classifier.in_features == 64


def test_flops_are_twice_the_weight_macs_per_sample():
    mlp = build_model(parse_architecture("2_02"), width=8, input_shape=(1, 40), classes=3)
    assert count_flops(mlp, (1, 40)) == 2 * (40 * 8 + 8 * 8 + 8 * 8 + 8 * 3)
    cnn = build_model(parse_architecture("2_12", "cnn", 3), width=4, input_shape=(2, 10), classes=3)
    conv_macs = 10 * 4 * 2 * 3 + 2 * (10 * 4 * 4 * 3)  # stem + two blocks, 10 positions
    assert count_flops(cnn, (2, 10)) == 2 * (conv_macs + 4 * 3)
    model = build_model(parse_architecture("2_02"), width=8, batch_norm=True)
    model.train()
    count_flops(model, (1, 40))  # one sample through BatchNorm: runs in eval mode
    assert model.training


@pytest.mark.parametrize(("prune", "convs"), [(False, 2), (True, 1)])
def test_nb201_flops_by_hand(prune, convs):
    c, hw = 4, 8
    arch = parse_architecture("3_00_300", "nb201")  # conv3x3 0→1 and 0→3; node 1 reaches no output
    model = build_model(arch, width=c, cells=1, input_shape=(3, hw, hw), prune_dead_edges=prune)
    macs = 3 * c * 9 * hw * hw  # stem
    for stage in range(3):
        ch, side = c * 2**stage, hw // 2**stage
        macs += convs * ch * ch * 9 * side * side  # the cell's conv3x3s that are built (and run)
        if stage:
            prev = ch // 2
            macs += (prev * ch * 9 + ch * ch * 9 + prev * ch) * side * side  # conv_a, conv_b, shortcut
    macs += 4 * c * 10
    assert count_flops(model, (3, hw, hw)) == 2 * macs


def test_layer_summary_rows():
    rows = layer_summary(build_model(parse_architecture("2_01"), width=8))
    assert [r.name for r in rows] == ["stem", "edges.e0_1", "edges.e1_2", "readout"]
    assert [r.kind for r in rows] == ["ParamBlock", "ParamBlock", "Identity", "Linear"]
    assert rows[0].detail == "Linear 40→8 + ReLU" and rows[2].params == 0
    assert sum(r.params for r in rows) == 40 * 8 + 8 + 72 + 90
    nb = layer_summary(build_model(parse_architecture(NB201_TOP), width=16, cells=5))
    assert sum(r.params for r in nb) == 1_288_506
