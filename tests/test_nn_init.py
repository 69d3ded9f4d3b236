"""Init schemes: per-layer weight std against the formulas (paper-spec §3.2/§3.3) and the effect on
activation growth along a dense DAG (§3.4)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.nn import build_model, init_model, list_init_schemes
from archscale.nn.model import WEIGHT_LAYERS

torch.set_num_threads(1)

NB201_TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def assert_std(weight: torch.Tensor, expected: float, what: str = "") -> None:
    """The root mean square of zero-mean normal draws is within 5 standard errors, sd·sqrt(1/(2n))."""
    n = weight.numel()
    measured = weight.detach().pow(2).mean().sqrt().item()
    tolerance = 5 * expected * math.sqrt(1 / (2 * n))
    assert abs(measured - expected) <= tolerance, f"{what}: std {measured:.5f}, expected {expected:.5f} (n={n})"


def assert_affine_reset(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYERS) and module.bias is not None:
            assert torch.all(module.bias == 0)
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)


def scramble_affine(model: nn.Module) -> None:
    """Make biases and BN parameters non-trivial, so a scheme must reset them."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                module.weight.uniform_(0.5, 2)
                module.bias.uniform_(-1, 1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_schemes_are_listed_and_settings_recorded():
    assert list_init_schemes() == ["architecture-aware", "kaiming", "mup", "pytorch-default"]
    assert list_init_schemes("k*") == ["kaiming"]
    model = build_model(parse_architecture("2_02"), width=8)
    assert init_model(model, "architecture-aware") == {
        "init": "architecture-aware",
        "degree_rule": "source",
        "readout": "official",
    }
    assert init_model(model, "Architecture-Aware", degree_rule="target", readout="mup") == {
        "init": "architecture-aware",
        "degree_rule": "target",
        "readout": "mup",
    }
    assert init_model(model, "kaiming") == {"init": "kaiming"}
    assert init_model(model, "pytorch-default") == {"init": "pytorch-default"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheme": "xavier"}, "unknown init scheme 'xavier'; known: architecture-aware, kaiming"),
        ({"scheme": "kaiming", "degree_rule": "middle"}, "unknown in-degree rule"),
        ({"scheme": "architecture-aware", "readout": "zero"}, "unknown readout rule"),
    ],
)
def test_unknown_names_are_user_errors(kwargs, message):
    model = build_model(parse_architecture("2"), width=4)
    with pytest.raises(UserError, match=message):
        init_model(model, **kwargs)


def test_pytorch_default_leaves_the_model_alone():
    model = build_model(parse_architecture("2_02"), width=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    init_model(model, "pytorch-default")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_kaiming_is_he_fan_in_everywhere():
    model = build_model(parse_architecture("2_12_122", "cnn", 3), width=16, input_shape=(3, 8, 8), batch_norm=True)
    scramble_affine(model)
    init_model(model, "kaiming")
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            assert_std(module.weight, math.sqrt(2 / (module.in_channels * 9)), name)
        elif isinstance(module, nn.Linear):
            assert_std(module.weight, math.sqrt(2 / module.in_features), name)
    assert_affine_reset(model)


# paper-spec §3.3: MLP, width 512, 2_22_222_2222, CIFAR input (3072), K = 10
SOURCE_RULE = {0: 0.0625, 1: 0.0625, 2: 0.04419, 3: 0.03608}  # by the edge's source node
TARGET_RULE = {1: 0.0625, 2: 0.04419, 3: 0.03608, 4: 0.03125}  # by the edge's target node


@pytest.mark.parametrize(
    ("degree_rule", "readout", "readout_std"),
    [
        ("source", "official", 0.2),  # 2/K
        ("target", "mup", 1 / 512),  # variance 1/n²
        ("source", "paper", math.sqrt(2) / 512),  # variance 2/n²
    ],
)
def test_architecture_aware_mlp_matches_the_spec_table(degree_rule, readout, readout_std):
    model = build_model(parse_architecture("2_22_222_2222"), width=512, input_shape=(3, 32, 32), batch_norm=True)
    scramble_affine(model)
    init_model(model, "architecture-aware", degree_rule=degree_rule, readout=readout)
    layers = model.layer_map()
    assert_std(layers.stem.weight, 0.0625, "stem (fan_out: sqrt(2/512), not sqrt(2/3072))")
    edges = layers.cells[0].edges
    assert len(edges) == 10
    for (src, dst), layer in edges.items():
        expected = SOURCE_RULE[src] if degree_rule == "source" else TARGET_RULE[dst]
        assert_std(layer.weight, expected, f"edge {src}→{dst}")
    assert_std(layers.readout.weight, readout_std, "readout")
    assert_affine_reset(model)


@pytest.mark.parametrize(("shape", "kernel"), [((1, 40), 5), ((3, 8, 8), 3)])
def test_architecture_aware_cnn(shape, kernel):
    width, dims = 32, len(shape) - 1
    model = build_model(parse_architecture("2_12_122", "cnn", kernel), width=width, input_shape=shape)
    init_model(model, "architecture-aware")
    layers = model.layer_map()
    area = kernel**dims
    assert_std(layers.stem.weight, math.sqrt(2 / (width * area)), "stem (fan_out)")
    in_degrees = model.arch.graph.in_degrees()  # [1, 1, 2, 3]
    for (src, dst), layer in layers.cells[0].edges.items():
        assert_std(layer.weight, math.sqrt(2 / (width * area * in_degrees[src])), f"edge {src}→{dst}")
    assert_std(layers.readout.weight, 2 / 10, "readout")
    assert_affine_reset(model)


def test_architecture_aware_nb201_matches_the_spec_table():
    model = build_model(parse_architecture(NB201_TOP), width=16, cells=5)
    scramble_affine(model)
    init_model(model, "architecture-aware")
    layers = model.layer_map()
    assert_std(layers.stem.weight, math.sqrt(2 / 27), "stem (fan_in 3·9)")
    # paper-spec §3.3: edges from nodes with d_in 1, and edge 2→3 (source d_in 2), per stage
    per_stage = [(0.11785, 0.08333), (0.08333, 0.05893), (0.05893, 0.04167)]
    assert len(layers.cells) == 15
    for index, cell in enumerate(layers.cells):
        single, double = per_stage[index // 5]
        for (src, dst), layer in cell.edges.items():
            assert_std(layer.weight, double if src == 2 else single, f"cell {index} edge {src}→{dst}")
    for index, block in enumerate(layers.reductions):
        c_in = 16 * 2**index
        assert_std(block["conv_a"].weight, math.sqrt(2 / (c_in * 9 * 2)), f"reduction {index} conv_a")
        assert_std(block["conv_b"].weight, math.sqrt(2 / (2 * c_in * 9)), f"reduction {index} conv_b")
        assert_std(block["shortcut"].weight, math.sqrt(2 / (c_in * 2)), f"reduction {index} shortcut")
    assert_std(layers.readout.weight, 0.03125, "classifier (2/(4C))")
    assert_affine_reset(model)


def test_architecture_aware_nb201_target_rule_and_readouts():
    model = build_model(parse_architecture("3_33_133"), width=32, cells=1)
    init_model(model, "architecture-aware", degree_rule="target", readout="mup")
    layers = model.layer_map()
    in_degrees = model.arch.graph.in_degrees()  # [1, 1, 2, 3]
    for (src, dst), layer in layers.cells[0].edges.items():
        assert_std(layer.weight, math.sqrt(2 / (32 * 9 * in_degrees[dst])), f"edge {src}→{dst}")
    assert_std(layers.readout.weight, 1 / 128, "classifier, variance 1/n²")


def second_moment_growth(scheme: str, **options: str) -> list[float]:
    """E[node²] / E[node 0²] along 2_22_222_2222 at width 1024 with Gaussian inputs (paper-spec §3.4)."""
    torch.manual_seed(1)
    model = build_model(parse_architecture("2_22_222_2222"), width=1024, input_shape=(256,))
    init_model(model, scheme, **options)
    with torch.no_grad():
        nodes = model.node_activations(torch.randn(256, 256))
    moments = [nodes[k].pow(2).mean().item() for k in range(5)]
    return [m / moments[0] for m in moments]


def test_architecture_aware_tames_activation_growth_on_a_dense_dag():
    kaiming = second_moment_growth("kaiming")
    source = second_moment_growth("architecture-aware")
    target = second_moment_growth("architecture-aware", degree_rule="target")
    # the spec's simulation: node 4 at ≈21× (He), ≈10.7× (source rule), ≈2.5× (target rule)
    assert 14 < kaiming[4] < 30
    assert 7 < source[4] < 15
    assert 1.8 < target[4] < 3.5
    for node in (3, 4):
        assert kaiming[node] > source[node] > target[node]
    assert all(0.9 < growth[1] < 1.15 for growth in (kaiming, source, target))  # chain part: preserved
