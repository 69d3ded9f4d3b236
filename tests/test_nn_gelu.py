"""GELU networks (paper App. E.2): building, a training step, and the init's gain (ReLU's or GELU's own)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.nn import DagNet, build_model, init_model
from archscale.nn.init import variance_gain

torch.set_num_threads(1)


def gelu_second_moment_by_quadrature() -> float:
    """E[GELU(z)²] for z ~ N(0, 1) by the trapezoidal rule on [-12, 12], independent of the library."""
    z = np.linspace(-12.0, 12.0, 400_001)
    phi = np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    return float(np.trapezoid((z * cdf) ** 2 * phi, z))


def assert_std(weight: torch.Tensor, expected: float, what: str) -> None:
    """RMS of zero-mean normal draws within 5 standard errors, sd·sqrt(1/(2n))."""
    n = weight.numel()
    measured = weight.detach().pow(2).mean().sqrt().item()
    assert abs(measured - expected) <= 5 * expected * math.sqrt(1 / (2 * n)), f"{what}: {measured} vs {expected}"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def test_variance_gains_match_quadrature():
    assert variance_gain("relu") == 2.0
    second_moment = gelu_second_moment_by_quadrature()
    assert second_moment == pytest.approx(0.4252214826, abs=1e-8)
    assert variance_gain("gelu") == pytest.approx(1.0 / second_moment, rel=1e-8)
    with pytest.raises(UserError, match="no variance gain"):
        variance_gain("tanh")


def test_gelu_gain_preserves_the_second_moment_of_a_deep_chain():
    """z ← W·GELU(z) three times, W ~ N(0, C/n): GELU's own C keeps E[z²] ≈ 1; ReLU's C = 2 (the
    authors' code) lets it shrink (to ≈ 0.56-0.64 over six seeds)."""
    x = torch.randn(512, 1024)
    moments = {}
    for c in (variance_gain("gelu"), 2.0):
        z = x
        for _ in range(3):
            z = nn.functional.gelu(z) @ (torch.randn(1024, 1024) * math.sqrt(c / 1024))
        moments[c] = z.pow(2).mean().item()
    assert moments[variance_gain("gelu")] == pytest.approx(1.0, abs=0.1)
    assert moments[2.0] < 0.75


@pytest.mark.parametrize(
    ("family", "notation", "shape"),
    [("mlp", "2_02_002", (1, 40)), ("mlp", "2_12_002", (40,)), ("cnn", "2_02", (1, 12)), ("cnn", "2_12", (3, 8, 8))],
)
def test_gelu_models_build_and_train_a_step(family, notation, shape):
    model = build_model(parse_architecture(notation, family), width=16, input_shape=shape, activation="gelu")
    assert isinstance(model, DagNet) and model.activation == "gelu"
    blocks = [m for m in model.modules() if hasattr(m, "act")]
    assert blocks and all(isinstance(m.act, nn.GELU) for m in blocks)
    assert "GELU" in repr(model)
    init_model(model, "architecture-aware", gain="activation")
    x, y = torch.randn(8, *shape), torch.randint(0, 10, (8,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = [p.detach().clone() for p in model.parameters()]
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_relu_is_the_default_and_nb201_offers_only_relu():
    model = build_model(parse_architecture("2_02"), width=8)
    assert isinstance(model, DagNet) and model.activation == "relu"
    assert build_model(parse_architecture("2_02"), width=8, activation=" GELU ").activation == "gelu"
    with pytest.raises(UserError, match="cannot use activation 'gelu'"):
        build_model(parse_architecture("3_33_133"), width=4, cells=1, input_shape=(3, 8, 8), activation="gelu")
    with pytest.raises(UserError, match="cannot use activation 'tanh'"):
        build_model(parse_architecture("2_02"), activation="tanh")


@pytest.mark.parametrize("gain", ["relu", "activation"])
def test_architecture_aware_stds_follow_the_formula_with_each_gain(gain):
    """MLP width 256, DAG 2_22_222 (source in-degrees 1, 1, 2): std = sqrt(C / (fan · d)) with C = 2
    (the authors' code, also for GELU) or C = variance_gain('gelu'); the official readout stays 2/K."""
    width = 256
    model = build_model(parse_architecture("2_22_222"), width=width, input_shape=(40,), activation="gelu")
    settings = init_model(model, "architecture-aware", gain=gain)
    assert settings.get("gain") == (None if gain == "relu" else "activation")
    c = 2.0 if gain == "relu" else variance_gain("gelu")
    layers = model.layer_map()
    assert_std(layers.stem.weight, math.sqrt(c / width), "stem (fan_out)")
    source_degree = {0: 1, 1: 1, 2: 2}
    for (src, dst), layer in layers.cells[0].edges.items():
        assert_std(layer.weight, math.sqrt(c / (width * source_degree[src])), f"edge {src}→{dst}")
    assert_std(layers.readout.weight, 2.0 / 10, "readout")


@pytest.mark.parametrize("gain", ["relu", "activation"])
def test_kaiming_stds_follow_the_formula_with_each_gain(gain):
    model = build_model(parse_architecture("2_02", "cnn", 3), width=32, input_shape=(1, 40), activation="gelu")
    settings = init_model(model, "kaiming", gain=gain)
    assert settings == ({"init": "kaiming"} if gain == "relu" else {"init": "kaiming", "gain": "activation"})
    c = 2.0 if gain == "relu" else variance_gain("gelu")
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Linear):
            fan = module.weight[0].numel()
            assert_std(module.weight, math.sqrt(c / fan), repr(module))


def test_activation_gain_is_relu_gain_for_relu_models_and_names_are_checked():
    model = build_model(parse_architecture("2_02"), width=256, input_shape=(40,))
    init_model(model, "architecture-aware", gain="activation")
    assert_std(model.layer_map().stem.weight, math.sqrt(2.0 / 256), "relu stem")
    with pytest.raises(UserError, match="unknown gain 'gelu'"):
        init_model(model, "kaiming", gain="gelu")
