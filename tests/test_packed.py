"""Packs: K runs of one architecture trained as one model equal the same K runs trained one by one.

Tolerances. A pack computes what the K unpacked runs compute, but with other kernels: batched matrix
products instead of matrix products, grouped convolutions instead of convolutions, per-member
cross-entropy and an SGD step whose per-member factors are tensors instead of Python scalars. Each
sums in its own order, so results differ by float32 rounding (about 1e-7 relative per operation),
which training carries forward: on these runs the per-epoch losses agree to 5e-7 relative or
better in every family; a member trained at a large LR amplifies rounding (1e-5 was seen on
NAS-Bench-201 at LR 10), and other CPUs or BLAS builds round differently. The tests allow 1e-4
relative on losses and learning rates, and one example's difference on accuracies (a logit that
rounds the other way may flip one prediction). Steps, epochs and statuses must be equal.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time

import pytest
import torch
from torch import nn

from archscale.data import load_dataset
from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.nn import build_model, init_model
from archscale.nn.packed import PackedLinear, pack_models, register_packer
from archscale.train import EpochMetrics, Status, TrainConfig, TrainResult, train
from archscale.train.core import worth_dropping
from archscale.train.packed import member_bytes, pack_key, pack_size_auto, train_pack
from archscale.train.packed_sgd import PackedSGD

torch.set_num_threads(1)

LOSS_RTOL = 1e-4
EXACT_FIELDS = ("epoch", "steps")
TIME_FIELDS = ("seconds", "device_seconds")
ACCURACY_FIELDS = tuple(f.name for f in dataclasses.fields(EpochMetrics) if "acc" in f.name)
LOSS_FIELDS = tuple(  # losses and the learning rate
    f.name for f in dataclasses.fields(EpochMetrics) if f.name not in EXACT_FIELDS + TIME_FIELDS + ACCURACY_FIELDS
)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", flatten=True, val_fraction=0.1, limit=600)  # 540 train: 17 steps of 32


@pytest.fixture(scope="module")
def images():
    return load_dataset("synthetic", shape=(3, 8, 8), classes=4, train_size=192, test_size=64)  # 6 steps of 32


@pytest.fixture(scope="module")
def small_images():
    return load_dataset(
        "synthetic", shape=(3, 8, 8), classes=4, train_size=192, test_size=48, val_fraction=0.25
    )  # 5 steps


@pytest.fixture(scope="module")
def sequences():
    return load_dataset("synthetic", shape=(2, 12), classes=3, train_size=64, test_size=32)


def members(arch: str, family: str, seeds: list[int], init: str = "kaiming", **spec) -> list[nn.Module]:
    """Models of one architecture, each built and initialised from its own seed."""
    built = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(parse_architecture(arch, family), **spec)
        init_model(model, init)
        built.append(model)
    return built


def base_configs(diverging_lr: float, **shared) -> list[TrainConfig]:
    """Four runs that differ in everything a member may differ in; the last one diverges."""
    common = {"epochs": 3, "batch_size": 32, "device": "cpu"} | shared
    return [
        TrainConfig(lr=0.05, momentum=0.0, schedule="constant", seed=0, **common),
        TrainConfig(lr=0.1, momentum=0.9, schedule="cosine", seed=1, **common),
        TrainConfig(lr=0.02, momentum=0.9, nesterov=True, weight_decay=5e-4, warmup_epochs=0.5, seed=2, **common),
        TrainConfig(lr=diverging_lr, momentum=0.0, schedule="constant", seed=3, **common),
    ]


def assert_same_run(packed: TrainResult, unpacked: TrainResult, sizes: dict[str, int]) -> None:
    assert packed.status is unpacked.status
    assert packed.steps == unpacked.steps
    assert len(packed.epochs) == len(unpacked.epochs)
    for ours, theirs in zip(packed.epochs, unpacked.epochs, strict=True):
        for name in EXACT_FIELDS:
            assert getattr(ours, name) == getattr(theirs, name), name
        for name in LOSS_FIELDS:
            assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=LOSS_RTOL, abs=1e-7), name
        for name in ACCURACY_FIELDS:
            split = name.partition("_")[0]
            assert getattr(ours, name) == pytest.approx(getattr(theirs, name), abs=1.01 / sizes[split]), name


def check_pack_equals_unpacked(models, data, configs, *, diverges_at: int) -> list[TrainResult]:
    """Every member's run packed equals its run alone. The diverging member leaves the pack at once when
    its remaining steps of the epoch cost at least one step of the whole pack (else at the epoch's end):
    the pack that evaluates that epoch is then one member smaller."""
    unpacked = [train(copy.deepcopy(m), data, c) for m, c in zip(models, configs, strict=True)]
    pack = pack_models(models)
    evaluated_by: dict[int, int] = {}  # epoch -> members of the pack that evaluated it
    packed = train_pack(pack, data, configs, lambda k, m: evaluated_by.setdefault(m.epoch, pack.members) and None)
    sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
    for ours, theirs in zip(packed, unpacked, strict=True):
        assert_same_run(ours, theirs, sizes)
    *stable, diverged = unpacked
    assert all(r.status is Status.COMPLETED for r in stable)
    assert diverged.status is Status.DIVERGED and diverged.steps == diverges_at
    steps_per_epoch = math.ceil(len(data.train) / configs[0].batch_size)
    assert diverges_at % steps_per_epoch != 0, "the diverging member should diverge mid-epoch"
    leaves_at_once = 1 * (steps_per_epoch - diverges_at % steps_per_epoch) >= len(configs)
    assert evaluated_by[diverges_at // steps_per_epoch + 1] == len(configs) - leaves_at_once
    if leaves_at_once:  # its time is the stretch it trained in, less than the others' epoch
        assert packed[-1].device_seconds < packed[0].epochs[diverges_at // steps_per_epoch].seconds
    return packed


# Where a moderate LR diverges depends on the CPU's float kernels (lr=100 with BN: step 24 on one CPU, 12 on
# another); lr=10 without BN diverged at step 33 on both, and an LR far past overflow diverges at once anywhere.
@pytest.mark.parametrize(("batch_norm", "diverging_lr", "diverges_at"), [(False, 10.0, 33), (True, 1e15, 2)])
def test_mlp_pack_equals_unpacked_runs(digits, batch_norm, diverging_lr, diverges_at):
    models = members("2_12_212", "mlp", [10, 11, 12, 13], width=32, input_shape=(64,), batch_norm=batch_norm)
    check_pack_equals_unpacked(models, digits, base_configs(diverging_lr), diverges_at=diverges_at)


@pytest.mark.parametrize(("batch_norm", "diverging_lr", "diverges_at"), [(False, 1e8, 2), (True, 1e15, 3)])
def test_cnn_pack_equals_unpacked_runs(images, batch_norm, diverging_lr, diverges_at):
    spec = {"width": 6, "classes": 4, "input_shape": (3, 8, 8), "batch_norm": batch_norm}
    models = members("2_12_212", "cnn", [10, 11, 12, 13], **spec)
    configs = base_configs(diverging_lr, augment=True)
    check_pack_equals_unpacked(models, images, configs, diverges_at=diverges_at)


def test_nb201_pack_equals_unpacked_runs(small_images):
    spec = {"width": 4, "cells": 1, "classes": 4, "input_shape": (3, 8, 8)}
    models = members("3_04_124", "nb201", [10, 11, 12, 13], init="architecture-aware", **spec)
    configs = base_configs(1e6, augment=True)
    check_pack_equals_unpacked(models, small_images, configs, diverges_at=3)


def bits(result: TrainResult) -> list[tuple[object, ...]]:
    """Everything a run reports but its times."""
    skip = set(TIME_FIELDS)
    return [(result.status, result.steps)] + [
        tuple(v for k, v in dataclasses.asdict(e).items() if k not in skip) for e in result.epochs
    ]


@pytest.mark.parametrize(
    ("family", "data", "spec", "augment"),
    [
        ("mlp", "digits", {"width": 32, "input_shape": (64,)}, False),
        ("mlp", "digits", {"width": 32, "input_shape": (64,), "batch_norm": True}, False),
        ("cnn", "images", {"width": 6, "classes": 4, "input_shape": (3, 8, 8)}, True),
        ("cnn", "images", {"width": 6, "classes": 4, "input_shape": (3, 8, 8), "batch_norm": True}, True),
        ("cnn", "sequences", {"width": 6, "classes": 3, "input_shape": (2, 12)}, False),
        ("nb201", "small_images", {"width": 4, "cells": 1, "classes": 4, "input_shape": (3, 8, 8)}, True),
    ],
)
def test_a_member_computes_the_same_bits_in_a_pack_of_any_size(request, family, data, spec, augment):
    """On the CPU a member's run is bit for bit the same alone (a pack of one, as the trainable trains a run
    alone) and beside any companions, also when one of them diverges and leaves the pack: `resources.pack`
    changes no result."""
    splits = request.getfixturevalue(data)
    arch = "3_04_124" if family == "nb201" else "2_12_212"
    models = members(arch, family, [10, 11, 12, 13], init="architecture-aware", **spec)
    configs = base_configs(1e15, augment=augment)  # the last member diverges at once
    together = train_pack(pack_models(models), splits, configs)
    alone = [train_pack(pack_models([m]), splits, [c])[0] for m, c in zip(models, configs, strict=True)]
    assert together[-1].status is Status.DIVERGED
    for k, (packed, single) in enumerate(zip(together, alone, strict=True)):
        assert bits(packed) == bits(single), k
    pair = train_pack(pack_models(models[1:3]), splits, configs[1:3])
    assert [bits(r) for r in pair] == [bits(r) for r in alone[1:3]]


def test_packed_forward_equals_each_member_for_every_family(sequences):
    cases = [
        (members("2_12_212", "mlp", [1, 2, 3], width=8, input_shape=(2, 12), batch_norm=True), (2, 12)),
        (members("2_12_212", "cnn", [1, 2, 3], width=4, classes=3, input_shape=(2, 12), batch_norm=True), (2, 12)),
        (members("3_04_124", "nb201", [1, 2, 3], width=4, cells=1, input_shape=(3, 8, 8)), (3, 8, 8)),
        (members("3_00_133", "nb201", [1, 2], width=4, cells=1, input_shape=(3, 8, 8)), (3, 8, 8)),  # dead node 2
    ]
    for models, shape in cases:
        packed = pack_models(models)
        x = torch.randn(5, len(models), *shape, generator=torch.Generator().manual_seed(0))
        for mode in ("train", "eval"):
            for model in [packed, *models]:
                model.train(mode == "train")
            out = packed(x)
            for k, model in enumerate(models):
                # float32 sums in another order (grouped and batched kernels): off by about 1e-6 at most
                torch.testing.assert_close(out[:, k], model(x[:, k]), rtol=1e-5, atol=1e-5)


def test_member_state_dicts_round_trip():
    models = members("3_04_124", "nb201", [1, 2, 3], width=4, cells=1, input_shape=(3, 8, 8))
    packed = pack_models(models)
    for k, model in enumerate(models):
        state = packed.member_state_dict(k)
        assert state.keys() == model.state_dict().keys()
        for name, tensor in model.state_dict().items():
            assert torch.equal(state[name], tensor), name
    packed.load_member_state_dict(0, models[2].state_dict())
    assert all(torch.equal(packed.member_state_dict(0)[n], t) for n, t in models[2].state_dict().items())
    assert all(torch.equal(packed.member_state_dict(1)[n], t) for n, t in models[1].state_dict().items())
    assert "3 members" in repr(packed)


def test_any_structure_of_registered_modules_packs_with_its_own_forward():
    def model(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1, groups=2),
            nn.BatchNorm2d(4),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 1, bias=False),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 3, bias=False),
        )

    models = [model(seed) for seed in range(3)]
    packed = pack_models(models)
    assert isinstance(packed.net[-1], PackedLinear) and packed.net[0].groups == 6
    x = torch.randn(4, 3, 2, 6, 6)
    out = packed(x)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[:, k], m(x[:, k]), rtol=1e-5, atol=1e-6)
    layers = [nn.Linear(5, 2) for _ in range(2)]  # a single layer packs too
    x = torch.randn(3, 2, 5)
    out = pack_models(layers)(x)
    for k, layer in enumerate(layers):
        torch.testing.assert_close(out[:, k], layer(x[:, k]))


def test_modules_that_would_mix_members_are_refused():
    with pytest.raises(UserError, match=r"LayerNorm.*register_packer"):
        pack_models([nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)) for _ in range(2)])
    with pytest.raises(UserError, match="Flatten"):
        pack_models([nn.Sequential(nn.Flatten(0), nn.Linear(4, 4)) for _ in range(2)])
    with pytest.raises(UserError, match="member 1 differs"):
        pack_models([nn.Linear(4, 4), nn.Linear(4, 5)])
    wide, narrow = (members("2_12_212", "mlp", [0], width=w, input_shape=(4,)) for w in (8, 6))
    with pytest.raises(UserError, match="member 1 differs"):
        pack_models(wide + narrow)
    with pytest.raises(ValueError, match="already has a packer"):
        register_packer(nn.Linear)(lambda ms: ms[0])


def test_packed_sgd_is_torch_sgd_member_by_member():
    hyper = [(0.0, False, 0.0), (0.9, False, 1e-3), (0.5, True, 0.0), (0.9, True, 5e-4)]
    lrs = torch.tensor([[0.1, 0.05, 0.2, 0.01], [0.1, 0.0, 0.2, 0.02], [0.3, 0.05, 0.1, 0.03]])
    torch.manual_seed(0)
    weights = [torch.randn(3, 5) for _ in hyper]
    grads = [[torch.randn(3, 5) for _ in hyper] for _ in lrs]
    packed = nn.Parameter(torch.stack(weights))
    optimizer = PackedSGD(
        [packed],
        len(hyper),
        momentum=[m for m, _, _ in hyper],
        nesterov=[n for _, n, _ in hyper],
        weight_decay=[w for _, _, w in hyper],
    )
    for lr, step_grads in zip(lrs, grads, strict=True):
        packed.grad = torch.stack(step_grads)
        optimizer.step(lr)
    for k, (momentum, nesterov, weight_decay) in enumerate(hyper):
        param = nn.Parameter(weights[k].clone())
        sgd = torch.optim.SGD([param], lr=1.0, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        for lr, step_grads in zip(lrs, grads, strict=True):
            sgd.param_groups[0]["lr"] = float(lr[k])
            param.grad = step_grads[k]
            sgd.step()
        torch.testing.assert_close(packed[k].detach(), param.detach(), rtol=1e-6, atol=1e-7)


def test_diverged_members_leave_mid_epoch_when_their_steps_left_outweigh_one_pack_step():
    assert worth_dropping(masked=1, members=4, steps_left=4) and not worth_dropping(1, 4, 3)
    assert worth_dropping(4, 16, 4) and not worth_dropping(4, 16, 3) and worth_dropping(15, 16, 2)
    assert not worth_dropping(0, 4, 100) and not worth_dropping(4, 4, 100)  # none masked, or none left


def test_stopped_members_leave_the_pack_and_the_others_go_on_as_alone(digits):
    models = members("2_12_212", "mlp", [0, 1, 2, 3], width=16, input_shape=(64,), batch_norm=True)
    configs = [
        TrainConfig(lr=lr, epochs=3, batch_size=64, momentum=0.9, nesterov=seed == 2, device="cpu", seed=seed)
        for seed, lr in enumerate((0.1, 0.05, 0.02, 0.03))
    ]
    packed = pack_models(models)
    snapshots: dict[int, dict[str, torch.Tensor]] = {}

    def stop_member_1_after_epoch_1(k: int, metrics) -> bool:
        if k == 1:
            snapshots[metrics.epoch] = packed.member_state_dict(1)
        return k == 1 and metrics.epoch == 1

    def stop_member_3_after_epoch_2(epoch: int) -> list[int]:  # a rule that judges the epoch's members together
        return [3] if epoch == 2 else []

    started = time.perf_counter()
    results = train_pack(packed, digits, configs, stop_member_1_after_epoch_1, stop_member_3_after_epoch_2)
    elapsed = time.perf_counter() - started
    assert [r.status for r in results] == [Status.COMPLETED, Status.STOPPED, Status.COMPLETED, Status.STOPPED]
    assert [len(r.epochs) for r in results] == [3, 1, 3, 2] and results[1].steps == 9 == results[1].epochs[0].steps
    assert list(snapshots) == [1]
    sizes = {"train": len(digits.train), "val": len(digits.val), "test": len(digits.test)}
    assert packed.members == 2  # the stopped members left; the pack holds members 0 and 2, in order
    for place, k in enumerate((0, 2)):
        alone = copy.deepcopy(models[k])
        assert_same_run(results[k], train(alone, digits, configs[k]), sizes)
        torch.testing.assert_close(packed.member_state_dict(place), alone.state_dict(), rtol=1e-4, atol=1e-6)
    for k in (1, 3):  # the epochs a stopped member trained are those of its run alone
        alone = train(copy.deepcopy(models[k]), digits, configs[k])
        for ours, theirs in zip(results[k].epochs, alone.epochs[: len(results[k].epochs)], strict=True):
            assert ours.val_loss == pytest.approx(theirs.val_loss, rel=LOSS_RTOL)
    assert results[1].device_seconds == results[1].epochs[0].device_seconds < results[0].device_seconds
    assert results[0].device_seconds == pytest.approx(results[2].device_seconds)  # the same shares
    assert sum(r.wall_seconds for r in results) == pytest.approx(elapsed, abs=0.05)


def test_one_model_may_start_several_members(digits):
    model = members("2_12", "mlp", [5], width=8, input_shape=(64,))[0]
    configs = [TrainConfig(lr=lr, epochs=1, batch_size=64, device="cpu", seed=5) for lr in (0.01, 0.1)]
    results = train_pack(pack_models([model, model]), digits, configs)
    sizes = {"train": len(digits.train), "val": len(digits.val), "test": len(digits.test)}
    for result, config in zip(results, configs, strict=True):
        assert_same_run(result, train(copy.deepcopy(model), digits, config), sizes)


def test_configs_must_share_everything_but_the_per_member_settings(digits):
    a = TrainConfig(lr=0.1, seed=0, momentum=0.9)
    assert pack_key(a) == pack_key(dataclasses.replace(a, lr=0.2, seed=5, nesterov=True, weight_decay=1e-4))
    assert pack_key(a) != pack_key(dataclasses.replace(a, batch_size=64))
    models = members("2_12_212", "mlp", [0, 1], width=8, input_shape=(64,))
    with pytest.raises(UserError, match="batch_size"):
        train_pack(pack_models(models), digits, [a, dataclasses.replace(a, batch_size=64)])
    with pytest.raises(ValueError, match="needs 2 configs"):
        train_pack(pack_models(models), digits, [a])


def test_pack_size_auto_fits_memory_and_balances_packs():
    model = members("2_12_212", "mlp", [0], width=32, input_shape=(64,))[0]
    cpu = torch.device("cpu")
    per_member = member_bytes(model, (64,), 128)
    params = sum(p.numel() for p in model.parameters())
    assert per_member > 12 * params
    assert pack_size_auto(model, (64,), 128, cpu, runs=20, cap=16) == 10  # two packs of 10, not 16 + 4
    assert pack_size_auto(model, (64,), 128, cpu, runs=3) == 3
    assert pack_size_auto(model, (64,), 128, cpu, runs=200, cap=64) == 50
    assert pack_size_auto(model, (64,), 128, cpu, runs=5, memory_fraction=1e-12) == 1
