"""One training run on tiny torch.nn.Sequential models (no dependency on archscale.nn; μP ones through
microsoft's mup directly)."""

import dataclasses
import math

import mup
import pytest
import torch
from torch import nn

from archscale.data import load_dataset
from archscale.errors import UserError
from archscale.train import EpochMetrics, LRSchedule, Status, TrainConfig, train
from archscale.train.core import _EpochStats


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", flatten=True, val_fraction=0.1)  # 1295 train → 11 steps of 128


@pytest.fixture(scope="module")
def images():
    return load_dataset("synthetic", shape=(3, 8, 8), classes=4, train_size=96, test_size=32)


def mlp(seed=0, width=64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))


def cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 4),
    )


def without_times(metrics: EpochMetrics):
    return dataclasses.replace(metrics, seconds=0.0, device_seconds=0.0)


def test_an_mlp_learns_digits(digits):
    config = TrainConfig(lr=0.1, epochs=4, batch_size=64, momentum=0.9, schedule="cosine")
    result = train(mlp(), digits, config)
    assert result.status is Status.COMPLETED and len(result.epochs) == 4
    last = result.epochs[-1]
    assert last.test_accuracy > 0.85 and last.val_accuracy > 0.85
    assert result.epochs[0].train_loss > last.train_loss
    assert 0 < last.test_loss < 1 and 0 < last.train_accuracy <= 1
    assert last.lr == pytest.approx(0.0, abs=1e-12)  # cosine reaches 0 at the end of the run
    assert [m.epoch for m in result.epochs] == [1, 2, 3, 4] and last.steps == 4 * 21 == result.steps
    times = [m.device_seconds for m in result.epochs]
    assert times == sorted(times) and result.device_seconds == pytest.approx(times[-1])
    assert result.wall_seconds >= result.device_seconds


def test_same_seed_same_metrics_on_the_cpu(images):
    config = TrainConfig(lr=0.05, epochs=2, batch_size=16, momentum=0.9, nesterov=True, augment=True, seed=3)
    a, b = train(cnn(), images, config), train(cnn(), images, config)
    assert [without_times(m) for m in a.epochs] == [without_times(m) for m in b.epochs]
    c = train(cnn(), images, dataclasses.replace(config, seed=4))
    assert [without_times(m) for m in a.epochs] != [without_times(m) for m in c.epochs]


def test_a_huge_lr_diverges_without_an_exception(digits):
    result = train(mlp(), digits, TrainConfig(lr=1e9, epochs=3))
    assert result.status is Status.DIVERGED
    assert all(math.isfinite(m.train_loss) for m in result.epochs)  # the diverged epoch is not reported
    assert result.steps < 3 * 11 and result.device_seconds > 0


def test_the_callback_can_stop_the_run(digits):
    seen = []

    def stop_after_two(metrics):
        seen.append(metrics.epoch)
        return metrics.epoch == 2

    result = train(mlp(), digits, TrainConfig(lr=0.05, epochs=5), on_epoch=stop_after_two)
    assert result.status is Status.STOPPED and seen == [1, 2] and len(result.epochs) == 2
    result = train(mlp(), digits, TrainConfig(lr=0.05, epochs=2), on_epoch=lambda m: m.epoch == 2)
    assert result.status is Status.COMPLETED  # a stop request after the last epoch changes nothing


def test_warmup_ends_at_the_runs_lr(digits):
    result = train(mlp(), digits, TrainConfig(lr=0.07, epochs=2, batch_size=128, schedule="constant", warmup_epochs=1))
    assert [m.lr for m in result.epochs] == [0.07, 0.07]


def test_max_steps_caps_the_run_and_makes_the_last_epoch_partial(digits):
    result = train(mlp(), digits, TrainConfig(lr=0.05, epochs=5, batch_size=128, max_steps=15))
    assert result.status is Status.COMPLETED and result.steps == 15
    assert [m.steps for m in result.epochs] == [11, 15]
    result = train(mlp(), digits, TrainConfig(lr=0.05, epochs=1, batch_size=128, max_steps=5, schedule="cosine"))
    assert [m.steps for m in result.epochs] == [5] and result.epochs[0].lr == 0.0


def test_train_loss_is_size_weighted_and_the_tail_is_the_last_tenth():
    stats = _EpochStats(
        steps=20,
        losses=torch.arange(1, 21, dtype=torch.float64).view(20, 1),
        sizes=torch.tensor([10.0] * 19 + [5.0], dtype=torch.float64),
        correct=torch.tensor([39]),
        diverged={},
    )
    assert stats.mean(0) == pytest.approx((sum(range(1, 20)) * 10 + 20 * 5) / 195)
    assert stats.tail(0) == 19.5 and stats.accuracy(0) == 39 / 195
    assert _EpochStats(3, torch.tensor([[1.0], [2.0], [3.0]]), torch.ones(3), torch.tensor([0]), {}).tail(0) == 3.0


def test_empty_validation_split_reports_none(digits):
    splits = load_dataset("digits", flatten=True, val_fraction=0)
    result = train(mlp(), splits, TrainConfig(lr=0.05, max_steps=2))
    assert result.epochs[0].val_loss is None and result.epochs[0].val_accuracy is None


def test_augmenting_flat_inputs_is_a_user_error(digits):
    with pytest.raises(UserError, match="has no crop-and-flip augmentation"):
        train(mlp(), digits, TrainConfig(lr=0.05, augment=True))


def test_threads_are_set_for_the_run_and_restored(digits):
    before = torch.get_num_threads()
    seen = []
    train(
        mlp(),
        digits,
        TrainConfig(lr=0.05, max_steps=1, threads=1),
        on_epoch=lambda m: seen.append(torch.get_num_threads()),
    )
    assert seen == [1] and torch.get_num_threads() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_asking_for_cuda_without_it_is_a_user_error(digits):
    with pytest.raises(UserError, match="sees no CUDA device"):
        train(mlp(), digits, TrainConfig(lr=0.05, device="cuda"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lr", 0.0),
        ("lr", math.inf),
        ("epochs", 0),
        ("batch_size", 0),
        ("momentum", 1.0),
        ("schedule", "step"),
        ("device", "tpu"),
        ("max_steps", 0),
        ("warmup_epochs", -1),
    ],
)
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(UserError, match=f"training setting {field} "):
        TrainConfig(**{"lr": 0.1, field: value})
    with pytest.raises(UserError, match="nesterov needs momentum"):
        TrainConfig(lr=0.1, momentum=0.0, nesterov=True)


def step_lrs(config, steps_per_epoch):
    """The schedule's LR of every step of a run of `config`."""
    schedule = LRSchedule(
        lr=config.lr,
        total_steps=config.epochs * steps_per_epoch,
        warmup_steps=round(config.warmup_epochs * steps_per_epoch),
        cosine=config.schedule == "cosine",
    )
    return [schedule(step) for step in range(config.epochs * steps_per_epoch)]


def mup_mlp(width=128, base=32):
    """A 2-hidden-layer MLP with μP base shapes set by mup itself (base width 32, delta 64)."""

    def net(n):
        return nn.Sequential(nn.Linear(64, n), nn.ReLU(), nn.Linear(n, n), nn.ReLU(), mup.MuReadout(n, 10))

    torch.manual_seed(0)
    model = net(width)
    mup.set_base_shapes(model, net(base), delta=net(2 * base))
    return model


def test_a_plain_model_steps_with_the_schedules_lr(digits, group_lrs):
    config = TrainConfig(lr=0.05, epochs=2, batch_size=128, warmup_epochs=0.5, schedule="cosine")
    model = mlp()
    train(model, digits, config)
    assert [set(step.values()) for step in group_lrs] == [{lr} for lr in step_lrs(config, 11)]


def test_a_mup_model_trains_with_musgd_and_the_schedule_times_each_groups_multiplier(digits, group_lrs):
    """mup's documented multipliers at width 128 over base 32 (×4): the hidden weight (both dims
    scale) lr; input weight, hidden biases and the MuReadout weight (one dim scales) lr·4; the
    readout's bias (no dim scales) lr."""
    model = mup_mlp()
    config = TrainConfig(lr=0.1, epochs=1, batch_size=128, momentum=0.9, schedule="cosine", warmup_epochs=0.2)
    result = train(model, digits, config)
    assert result.status is Status.COMPLETED and result.epochs[-1].test_accuracy > 0.5
    stem, hidden, readout = model[0], model[2], model[4]
    multiplier = {
        id(hidden.weight): 1.0,
        id(readout.bias): 1.0,
        **{id(p): 4.0 for p in (stem.weight, stem.bias, hidden.bias, readout.weight)},
    }
    assert len(group_lrs) == 11
    for step, lr in zip(group_lrs, step_lrs(config, 11), strict=True):
        assert step.keys() == multiplier.keys()
        assert all(step[p] == pytest.approx(lr * m, rel=1e-12) for p, m in multiplier.items())
