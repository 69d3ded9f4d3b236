"""The CUDA paths of training, unpacked and packed: device-resident data, bf16 autocast, channels_last.

Skipped without a CUDA device (CI has none); `bench/gpu.sh` runs them on a GPU machine, and its
`--dry-run` runs them on the CPU (ARCHSCALE_CUDA_TESTS_ON_CPU=1, where bf16 and channels_last are
ignored) so that the tests themselves are checked before GPU time is spent. On CUDA the divergence
check runs every 32 steps and cuDNN may pick other algorithms per shape, so fp32 comparisons allow
1e-3 relative; bf16 runs are compared loosely (5e-2), as bf16 keeps 8 bits of mantissa.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import pytest
import torch
from torch import nn

from archscale.data import load_dataset
from archscale.graph import parse_architecture
from archscale.nn import build_model, init_model
from archscale.nn.packed import pack_models
from archscale.train import Status, TrainConfig, train
from archscale.train.packed import pack_size_auto, train_pack

ON_CUDA = torch.cuda.is_available()
pytestmark = pytest.mark.skipif(
    not ON_CUDA and os.environ.get("ARCHSCALE_CUDA_TESTS_ON_CPU") != "1", reason="needs a CUDA device"
)

DEVICE = torch.device("cuda" if ON_CUDA else "cpu")
CHECK_EVERY = 32 if ON_CUDA else 1  # steps between divergence checks (train.core)


@pytest.fixture(scope="module")
def images():
    size = 1024 if ON_CUDA else 256
    return load_dataset("synthetic", shape=(3, 16, 16), classes=10, train_size=size, test_size=size // 4)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", flatten=True, val_fraction=0.1)


def nb201_members(seeds: list[int], width: int = 8) -> list[nn.Module]:
    built = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(parse_architecture("3_04_124"), width=width, cells=1, input_shape=(3, 16, 16))
        init_model(model, "kaiming")
        built.append(model)
    return built


def nb201_configs(count: int, **options) -> list[TrainConfig]:
    recipe = {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "schedule": "cosine", "augment": True}
    common = {"epochs": 2, "batch_size": 64, "device": DEVICE.type} | recipe | options
    return [TrainConfig(lr=0.05 * (k + 1), seed=k, **common) for k in range(count)]


def test_unpacked_training_on_cuda_with_bf16_and_channels_last(images):
    config = nb201_configs(1, bf16=True, channels_last=True)[0]
    model = nb201_members([0])[0]
    result = train(model, images, config)
    assert result.status is Status.COMPLETED and len(result.epochs) == 2
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.device.type == DEVICE.type
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) is ON_CUDA
    assert result.epochs[-1].train_loss < result.epochs[0].train_loss * 1.5


@pytest.fixture
def no_tf32():
    """Full fp32 convolutions and matrix products (cuDNN uses TF32 by default) for the test."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.usefixtures("no_tf32")
def test_packed_equals_unpacked_on_cuda_fp32(images):
    models = nb201_members([1, 2, 3])
    configs = nb201_configs(3)
    unpacked = [train(copy.deepcopy(m), images, c) for m, c in zip(models, configs, strict=True)]
    packed = train_pack(pack_models(models), images, configs)
    for ours, theirs in zip(packed, unpacked, strict=True):
        assert ours.status is theirs.status and ours.steps == theirs.steps
        for a, b in zip(ours.epochs, theirs.epochs, strict=True):
            assert a.train_loss == pytest.approx(b.train_loss, rel=1e-3)
            assert a.test_loss == pytest.approx(b.test_loss, rel=1e-3)
            assert a.test_accuracy == pytest.approx(b.test_accuracy, abs=3 / len(images.test))


def test_packed_bf16_channels_last_is_close_to_unpacked(images):
    models = nb201_members([4, 5, 6, 7])
    configs = nb201_configs(4, bf16=True, channels_last=True)
    packed_model = pack_models(models)
    packed = train_pack(packed_model, images, configs)
    conv = next(m for m in packed_model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3))
    assert conv.weight.device.type == DEVICE.type and conv.groups == 4
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) is ON_CUDA
    for k, (model, config) in enumerate(zip(models, configs, strict=True)):
        alone = train(copy.deepcopy(model), images, config)
        assert packed[k].status is alone.status is Status.COMPLETED
        assert packed[k].epochs[0].train_loss == pytest.approx(alone.epochs[0].train_loss, rel=5e-2)


def test_a_diverging_member_on_cuda_is_caught_at_the_same_check(digits):
    def mlp(seed: int) -> nn.Module:
        torch.manual_seed(seed)
        return build_model(parse_architecture("2_12_212", "mlp"), width=64, input_shape=(64,))

    configs = [
        TrainConfig(lr=lr, epochs=3, batch_size=16, device=DEVICE.type, seed=k) for k, lr in enumerate((0.05, 1e9))
    ]
    models = [mlp(0), mlp(1)]
    unpacked = [train(copy.deepcopy(m), digits, c) for m, c in zip(models, configs, strict=True)]
    packed = train_pack(pack_models(models), digits, configs)
    assert unpacked[1].status is packed[1].status is Status.DIVERGED
    assert packed[1].steps == unpacked[1].steps and packed[1].steps % CHECK_EVERY == 0
    assert packed[0].status is Status.COMPLETED and len(packed[0].epochs) == 3
    assert packed[0].epochs[-1].test_loss == pytest.approx(unpacked[0].epochs[-1].test_loss, rel=1e-3)


def test_pack_size_auto_on_cuda_fits_its_share_of_the_memory():
    model = nb201_members([0], width=16)[0].to(DEVICE)
    k = pack_size_auto(model, (3, 32, 32), 256, DEVICE, runs=64)
    assert 1 <= k <= 64
    assert pack_size_auto(model, (3, 32, 32), 256, DEVICE, runs=64, memory_fraction=1e-6) == 1


def test_the_cuda_data_stays_on_the_device(images):
    on_device = images.to(DEVICE)
    configs = [dataclasses.replace(c, epochs=1) for c in nb201_configs(2)]
    results = train_pack(pack_models(nb201_members([8, 9])), on_device, configs)
    assert all(r.status is Status.COMPLETED for r in results)
    assert on_device.train.x.device.type == on_device.train.y.device.type == DEVICE.type
