"""μP models with microsoft's mup (paper App. E.3): structure, init, MuSGD's multipliers, a coordinate
check across widths, a training step for every family; `build_model`'s parametrization, the `mup`
init scheme, and an epoch of `archscale.train.train` with MuSGD's per-group LRs."""

from __future__ import annotations

import math

import mup
import pytest
import torch
from torch import nn

from archscale.data import load_dataset
from archscale.errors import UserError
from archscale.graph import Family, parse_architecture
from archscale.nn import DagNet, build_model, init_model, list_init_schemes
from archscale.nn.mup import MupWidths, base_widths, build_mup_model, mup_sgd
from archscale.nn.registry import parametrization_of
from archscale.train import LRSchedule, Status, TrainConfig, train

torch.set_num_threads(1)

CHAIN = parse_architecture("2_02_002")
NB201_CELL = parse_architecture("3_33_133", "nb201")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def assert_std(weight: torch.Tensor, expected: float, what: str) -> None:
    """RMS of zero-mean normal draws within 5 standard errors, sd·sqrt(1/(2n))."""
    n = weight.numel()
    measured = weight.detach().pow(2).mean().sqrt().item()
    assert abs(measured - expected) <= 5 * expected * math.sqrt(1 / (2 * n)), f"{what}: {measured} vs {expected}"


def test_base_widths_default_to_the_family_standard_width_and_twice_it():
    assert base_widths(Family.MLP) == MupWidths(target=128, base=128, delta=256)
    assert base_widths(Family.CNN, 64) == MupWidths(target=64, base=32, delta=64)
    assert base_widths(Family.NB201, 8) == MupWidths(target=8, base=16, delta=32)
    assert base_widths(Family.MLP, 512, base_width=64, delta_width=96) == MupWidths(512, 64, 96)
    with pytest.raises(ValueError, match="must differ"):
        base_widths(Family.MLP, base_width=64, delta_width=64)


def test_readout_is_a_mureadout_and_every_parameter_has_an_infshape():
    model = build_mup_model(CHAIN, width=512, input_shape=(40,), classes=7)
    assert isinstance(model, DagNet)
    assert isinstance(model.readout, mup.MuReadout) and model.layer_map().readout is model.readout
    assert (model.readout.in_features, model.readout.out_features) == (512, 7)
    assert all(hasattr(p, "infshape") for p in model.parameters())
    assert model.readout.width_mult() == 512 / 128
    assert model(torch.randn(3, 40)).shape == (3, 7)


def test_init_is_mups():
    """He fan-in N(0, 2/fan_in) on input and hidden layers, N(0, 1/base fan_in) on the readout, zero biases."""
    model = build_mup_model(CHAIN, width=1024, input_shape=(40,), base_width=64)
    layers = model.layer_map()
    assert_std(layers.stem.weight, math.sqrt(2 / 40), "stem")
    for edge, layer in layers.cells[0].edges.items():
        assert_std(layer.weight, math.sqrt(2 / 1024), f"edge {edge}")
    assert_std(layers.readout.weight, math.sqrt(1 / 64), "readout")
    assert all(torch.all(m.bias == 0) for m in model.modules() if isinstance(m, nn.Linear))


def test_musgd_scales_learning_rates_as_mup_documents():
    """Hidden weights (two width dims growing alike): lr. One width dim (input weights, biases, the
    MuReadout weight): lr · width/base, weight decay / (width/base). No width dim (readout bias): lr."""
    model = build_mup_model(CHAIN, width=512, input_shape=(40,), base_width=128)
    optimizer = mup_sgd(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    layers = model.layer_map()
    for layer in layers.cells[0].edges.values():
        assert group_of[id(layer.weight)]["lr"] == pytest.approx(0.1)
        assert group_of[id(layer.weight)]["weight_decay"] == pytest.approx(5e-4)
        assert group_of[id(layer.bias)]["lr"] == pytest.approx(0.1 * 4)
    for vector_like in (layers.stem.weight, layers.stem.bias, layers.readout.weight):
        assert group_of[id(vector_like)]["lr"] == pytest.approx(0.4)
        assert group_of[id(vector_like)]["weight_decay"] == pytest.approx(5e-4 / 4)
    assert group_of[id(layers.readout.bias)]["lr"] == pytest.approx(0.1)
    assert all(g["lr"] == pytest.approx(0.1 * g["lr_mult"]) for g in optimizer.param_groups)
    assert all(g["momentum"] == 0.9 and g["nesterov"] for g in optimizer.param_groups)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_at_the_base_width_musgd_is_plain_sgd():
    model = build_mup_model(NB201_CELL, width=16, cells=1, input_shape=(3, 8, 8))
    optimizer = mup_sgd(model, lr=0.1)
    assert {g["lr"] for g in optimizer.param_groups} == {0.1}


def _activation_changes(model: DagNet, optimizer: torch.optim.Optimizer) -> list[float]:
    """RMS change of every hidden node's activations on a fixed batch after 3 steps (random labels)."""
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 40, generator=generator), torch.randint(0, 10, (64,), generator=generator)
    with torch.no_grad():
        before = model.node_activations(x)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        after = model.node_activations(x)
    return [(after[n] - before[n]).pow(2).mean().sqrt().item() for n in sorted(before) if n > 0]


def test_coordinate_check_activation_changes_stay_flat_with_width():
    """μP: each hidden node's change after 3 steps at LR 0.1 is within 2× between widths 256 and 2048
    (measured ≈ 0.09/0.20/0.29 vs 0.07/0.14/0.21); the standard parametrisation with the same LR
    grows several-fold (≈ 0.20/0.44/0.58 vs 0.94/1.04/1.00), so the check can tell them apart."""
    changes: dict[str, dict[int, list[float]]] = {"mup": {}, "sp": {}}
    for width in (256, 2048):
        torch.manual_seed(0)
        model = build_mup_model(CHAIN, width=width, input_shape=(40,))
        assert isinstance(model, DagNet)
        changes["mup"][width] = _activation_changes(model, mup_sgd(model, lr=0.1))
        torch.manual_seed(0)
        plain = build_model(CHAIN, width=width, input_shape=(40,))
        init_model(plain, "kaiming")
        assert isinstance(plain, DagNet)
        changes["sp"][width] = _activation_changes(plain, torch.optim.SGD(plain.parameters(), lr=0.1))
    mup_ratios = [wide / narrow for narrow, wide in zip(changes["mup"][256], changes["mup"][2048], strict=True)]
    sp_ratios = [wide / narrow for narrow, wide in zip(changes["sp"][256], changes["sp"][2048], strict=True)]
    assert all(0.5 <= r <= 2 for r in mup_ratios), mup_ratios
    assert max(sp_ratios) > 3, sp_ratios


@pytest.mark.parametrize(
    ("arch", "options"),
    [
        (CHAIN, {"input_shape": (1, 12), "activation": "gelu"}),
        (parse_architecture("2_12", "cnn", 3), {"input_shape": (1, 12), "batch_norm": True}),
        (parse_architecture("2_12", "cnn", 3), {"input_shape": (3, 8, 8)}),
        (NB201_CELL, {"cells": 1, "input_shape": (3, 8, 8)}),
    ],
)
def test_a_training_step_works_for_every_family(arch, options):
    model = build_mup_model(arch, width=8, classes=5, **options)
    optimizer = mup_sgd(model, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.randn(4, *options["input_shape"]), torch.randint(0, 5, (4,))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_build_model_delegates_the_mup_parametrization():
    model = build_model(CHAIN, width=512, input_shape=(40,), classes=7, parametrization="mup")
    assert parametrization_of(model) == "mup" and isinstance(model.layer_map().readout, mup.MuReadout)
    assert model.layer_map().readout.width_mult() == 512 / 128  # the family's standard width is the base
    narrow = build_model(NB201_CELL, width=8, cells=1, parametrization="mup", mup_base_width=4)
    assert narrow.layer_map().readout.width_mult() == 2
    assert parametrization_of(build_model(CHAIN)) == "standard"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"parametrization": "ntk"}, "unknown parametrization 'ntk'; known: standard, mup"),
        ({"mup_base_width": 64}, "mup_base_width is a setting of parametrization 'mup' only"),
        ({"parametrization": "mup", "mup_base_width": 0}, "mup_base_width must be >= 1"),
    ],
)
def test_bad_parametrization_options_are_user_errors(options, message):
    with pytest.raises(UserError, match=message):
        build_model(CHAIN, **options)


def test_init_scheme_mup_redraws_a_mup_model_and_refuses_a_standard_one():
    assert "mup" in list_init_schemes()
    model = build_mup_model(CHAIN, width=1024, input_shape=(40,), base_width=64)
    before = model.readout.weight.detach().clone()
    assert init_model(model, "mup", degree_rule="target", gain="activation") == {"init": "mup"}
    assert not torch.equal(before, model.readout.weight)
    assert_std(model.readout.weight, math.sqrt(1 / 64), "readout")
    with pytest.raises(UserError, match=r"has no μP base shapes .*use: architecture-aware, kaiming, pytorch-default"):
        init_model(build_model(CHAIN), "mup")


@pytest.mark.parametrize("scheme", ["pytorch-default", "kaiming", "architecture-aware"])
def test_standard_schemes_refuse_a_mup_model(scheme):
    model = build_mup_model(CHAIN, width=256, input_shape=(40,))
    with pytest.raises(UserError, match=rf"init scheme '{scheme}' is for standard-.*has μP base shapes; use: mup"):
        init_model(model, scheme)


@pytest.mark.parametrize(
    ("arch", "options", "shape"),
    [
        (CHAIN, {"width": 64, "mup_base_width": 16}, (1, 12)),
        (parse_architecture("2_12", "cnn", 3), {"width": 16, "mup_base_width": 8, "batch_norm": True}, (1, 12)),
        (NB201_CELL, {"width": 8, "cells": 1}, (3, 8, 8)),
    ],
)
def test_a_mup_model_trains_an_epoch_with_musgds_multipliers_times_the_schedule(arch, options, shape, group_lrs):
    """Each step's LR of a parameter is the schedule's LR times mup's multiplier: width/base for a
    parameter with one width dimension (input weights, biases, BatchNorm, the MuReadout weight), 1 for
    one with two (hidden weights, whose fan-in and fan-out scale alike here) or none (readout bias)."""
    splits = load_dataset("synthetic", shape=shape, classes=4, train_size=96, test_size=32, val_fraction=0)
    model = build_model(arch, classes=4, input_shape=shape, parametrization="mup", **options)
    init_model(model, "mup")
    config = TrainConfig(
        lr=0.1, epochs=1, batch_size=16, momentum=0.9, nesterov=True, weight_decay=5e-4, schedule="cosine"
    )
    result = train(model, splits, config)
    assert result.status is Status.COMPLETED and len(result.epochs) == 1
    width_mult = model.layer_map().readout.width_mult()
    assert width_mult == options["width"] / options.get("mup_base_width", 16)
    multiplier = {id(p): (1.0, width_mult, 1.0)[p.infshape.ninf()] for p in model.parameters()}
    schedule = LRSchedule(lr=0.1, total_steps=6, cosine=True)
    assert len(group_lrs) == 6 and set(multiplier.values()) == {1.0, width_mult}
    for step, lrs in enumerate(group_lrs):
        assert lrs.keys() == multiplier.keys()
        assert all(lrs[p] == pytest.approx(schedule(step) * m, rel=1e-12) for p, m in multiplier.items())
