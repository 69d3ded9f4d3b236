"""Per-feature standardisation: statistics from the training split only, constant features kept finite."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archscale.data import Normalization, Split, Splits, load_dataset
from archscale.data.standardize import feature_stats, standardize_per_feature
from archscale.errors import UserError


def split(rows: list[list[float]]) -> Split:
    return Split(torch.tensor(rows, dtype=torch.float32), torch.zeros(len(rows), dtype=torch.int64))


def tiny(augment_padding: int | None = None) -> Splits:
    """Feature 0 is 0, 2 on the training split (mean 1, population std 1); feature 1 is constant 5."""
    return Splits(
        name="tiny",
        train=split([[0, 5], [2, 5]]),
        val=split([[4, 6]]),
        test=split([[1, 3]]),
        input_shape=(2,),
        num_classes=1,
        normalization=Normalization((0.0,), (1.0,), note="as given"),
        augment_padding=augment_padding,
    )


def test_hand_computed_tiny_example():
    mean, std = feature_stats(tiny().train.x)
    assert mean.tolist() == [1.0, 5.0]
    assert std.tolist() == [1.0, 1.0]  # population std 1; the constant feature's 0 becomes 1
    out = standardize_per_feature(tiny())
    assert out.train.x.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert out.val.x.tolist() == [[3.0, 1.0]]  # with the validation example in the statistics, the mean would be 2
    assert out.test.x.tolist() == [[0.0, -2.0]]
    assert out.normalization.note.startswith("as given; then per feature") and "2 training examples" in str(
        out.normalization
    )


def test_population_std_and_per_feature_shape():
    x = torch.tensor([[[1.0, 10.0], [0.0, 0.0]], [[3.0, 30.0], [0.0, 0.0]], [[5.0, 50.0], [0.0, 0.0]]])
    mean, std = feature_stats(x)
    assert mean.shape == std.shape == (2, 2)
    assert mean.tolist() == [[3.0, 30.0], [0.0, 0.0]]
    assert std[0].tolist() == pytest.approx([np.sqrt(8 / 3), 10 * np.sqrt(8 / 3)])
    assert std[1].tolist() == [1.0, 1.0]


def test_datasets_with_crop_augmentation_are_refused():
    with pytest.raises(UserError, match="without crop augmentation"):
        standardize_per_feature(tiny(augment_padding=4))
    with pytest.raises(UserError, match="without crop augmentation"):
        load_dataset("synthetic", shape=(3, 4, 4), train_size=20, test_size=5, standardize="per-feature")


def test_unknown_mode_is_a_user_error():
    with pytest.raises(UserError, match="unknown standardize mode 'per-pixel'"):
        load_dataset("synthetic", shape=(3,), train_size=20, test_size=5, standardize="per-pixel")


def test_global_is_the_default_and_unchanged():
    default = load_dataset("synthetic", shape=(3,), train_size=30, test_size=6, val_fraction=0.2)
    explicit = load_dataset("synthetic", shape=(3,), train_size=30, test_size=6, val_fraction=0.2, standardize="global")
    assert torch.equal(default.train.x, explicit.train.x) and torch.equal(default.test.x, explicit.test.x)


@pytest.mark.parametrize("flatten", [False, True])
def test_digits_per_feature_uses_the_training_split_only(flatten):
    kwargs = {"val_fraction": 0.2, "split_seed": 3, "limit": 600}
    plain = load_dataset("digits", **kwargs)
    standard = load_dataset("digits", standardize="per_feature", flatten=flatten, **kwargs)
    train = plain.train.x.double().numpy().reshape(len(plain.train), -1)
    mean, std = train.mean(axis=0), train.std(axis=0)
    constant = std <= 1e-6
    assert constant.any()  # digits has pixels that are always blank
    std[constant] = 1.0
    for name in ("train", "val", "test"):
        raw = getattr(plain, name).x.double().numpy().reshape(len(getattr(plain, name)), -1)
        got = getattr(standard, name).x.numpy().reshape(len(raw), -1)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, (raw - mean) / std, atol=1e-5)
    got_train = standard.train.x.numpy().reshape(len(train), -1)
    np.testing.assert_allclose(got_train[:, ~constant].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(got_train[:, ~constant].std(axis=0), 1, atol=1e-4)
    assert (got_train[:, constant] == 0).all()
    assert standard.input_shape == ((64,) if flatten else (1, 8, 8))
