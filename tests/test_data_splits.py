"""The registry, deterministic splits, limits and flattening (on the generated `synthetic` dataset)."""

import pytest
import torch

from archscale.data import Normalization, Split, Splits, list_datasets, load_dataset
from archscale.data.partition import holdout, subset
from archscale.errors import UserError

SMALL = {"shape": (2, 4, 4), "classes": 5, "train_size": 300, "test_size": 50}


def test_every_builtin_dataset_is_registered():
    assert list_datasets() == [
        "cifar10",
        "cifar100",
        "digits",
        "image-folder",
        "imagenet16-120",
        "mnist1d",
        "npz",
        "synthetic",
        "table",
    ]
    assert list_datasets("cifar*") == ["cifar10", "cifar100"]


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(UserError, match=r"unknown dataset 'mnist'; known datasets: cifar10, cifar100, digits"):
        load_dataset("mnist")


def test_unknown_option_names_the_accepted_ones():
    with pytest.raises(UserError, match=r"dataset 'synthetic' has no option 'size' \(its options: shape, classes"):
        load_dataset("synthetic", size=3)
    with pytest.raises(UserError, match="it takes no options"):
        load_dataset("cifar10", shape=(1, 2))


def test_names_match_case_and_underscore_insensitively(tmp_path):
    with pytest.raises(UserError, match="imagenet16-120"):
        load_dataset("ImageNet16_120", root=tmp_path)


def test_splits_are_disjoint_cover_the_training_data_and_hold_the_right_types():
    splits = load_dataset("synthetic", val_fraction=0.2, stratify=False, **SMALL)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (240, 60, 50)
    assert splits.train.x.shape == (240, 2, 4, 4) and splits.input_shape == (2, 4, 4)
    assert splits.train.x.dtype == torch.float32 and splits.train.y.dtype == torch.int64
    assert splits.num_classes == 5 and splits.name == "synthetic"
    for stratify in (False, True):
        splits = load_dataset("synthetic", val_fraction=0.2, stratify=stratify, **SMALL)
        rows = torch.cat([splits.train.x, splits.val.x]).flatten(1)
        assert torch.unique(rows, dim=0).shape[0] == 300  # nothing duplicated, nothing lost


def test_the_last_source_is_reused_and_its_splits_drawn_anew():
    a = load_dataset("synthetic", split_seed=1, **SMALL)
    b = load_dataset("synthetic", split_seed=2, **SMALL)
    assert b.test.x is a.test.x  # not generated again
    c = load_dataset("synthetic", **{**SMALL, "noise": 0.5})
    assert not torch.equal(c.test.x, a.test.x)
    assert load_dataset("synthetic", split_seed=1, **SMALL).test.x is not a.test.x  # only the last one is kept


def test_the_split_seed_alone_decides_the_split():
    a = load_dataset("synthetic", split_seed=1, **SMALL)
    b = load_dataset("synthetic", split_seed=1, **SMALL)
    c = load_dataset("synthetic", split_seed=2, **SMALL)
    assert torch.equal(a.val.x, b.val.x) and torch.equal(a.train.y, b.train.y)
    assert not torch.equal(a.val.x, c.val.x)
    assert torch.equal(a.test.x, c.test.x)  # the test split never depends on the split seed


def test_stratified_holdout_keeps_class_proportions():
    y = torch.arange(10).repeat_interleave(torch.tensor([10, 20, 30, 40, 50, 10, 20, 30, 40, 50]))
    kept, held = holdout(y, 0.1, torch.Generator().manual_seed(0), stratify=True)
    assert torch.equal(torch.bincount(y[held]), torch.tensor([1, 2, 3, 4, 5, 1, 2, 3, 4, 5]))
    assert torch.equal(torch.sort(torch.cat([kept, held])).values, torch.arange(len(y)))
    kept, held = holdout(y, 0.1, torch.Generator().manual_seed(0), stratify=False)
    assert len(held) == 30 and len(kept) == 270


def test_zero_val_fraction_leaves_an_empty_validation_split():
    splits = load_dataset("synthetic", val_fraction=0, **SMALL)
    assert len(splits.val) == 0 and len(splits.train) == 300
    assert splits.val.x.shape == (0, 2, 4, 4)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_val_fraction_is_a_user_error(fraction):
    with pytest.raises(UserError, match="val_fraction must be in"):
        load_dataset("synthetic", val_fraction=fraction, **SMALL)


def test_limits_take_random_subsets_before_the_validation_carve():
    splits = load_dataset("synthetic", limit=100, test_limit=20, val_fraction=0.1, **SMALL)
    assert len(splits.train) + len(splits.val) == 100 and len(splits.test) == 20
    other = load_dataset("synthetic", limit=50, test_limit=20, split_seed=9, **SMALL)
    assert torch.equal(other.test.x, splits.test.x)  # one test subset for every seed and limit
    assert len(subset(10, 20, torch.Generator())) == 10
    with pytest.raises(UserError, match="limit must be a positive"):
        load_dataset("synthetic", limit=0, **SMALL)


def test_flatten_gives_vectors_and_drops_the_crop_augmentation():
    splits = load_dataset("synthetic", flatten=True, **SMALL)
    assert splits.input_shape == (32,) and splits.train.x.shape[1:] == (32,)
    assert splits.augment_padding is None
    assert load_dataset("synthetic", **SMALL).augment_padding == 4


def test_synthetic_is_seeded_and_learnable_in_principle():
    a = load_dataset("synthetic", seed=3, **SMALL)
    b = load_dataset("synthetic", seed=4, **SMALL)
    assert not torch.equal(a.train.x, b.train.x)
    # nearest class mean on the training data classifies the test data almost perfectly
    means = torch.stack([a.train.x[a.train.y == c].mean(0) for c in range(5)]).flatten(1)
    predicted = torch.cdist(a.test.x.flatten(1), means).argmin(1)
    assert (predicted == a.test.y).float().mean() > 0.9
    with pytest.raises(UserError, match="synthetic: needs classes >= 2"):
        load_dataset("synthetic", classes=1)


def test_split_checks_its_tensors():
    with pytest.raises(TypeError, match="float32 x and int64 y"):
        Split(torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="x has 2 rows"):
        Split(torch.zeros(2, 3), torch.zeros(3, dtype=torch.int64))


def test_normalization_describes_itself_and_its_padding_value():
    norm = Normalization((0.5, 0.25), (0.5, 0.25), scale=255, note="made up")
    assert str(norm) == "(x/255 - (0.5, 0.25)) / (0.5, 0.25); made up"
    assert torch.allclose(norm.raw_zero(2), torch.tensor([-1.0, -1.0]))
    assert torch.allclose(Normalization((0.5,), (2.0,)).raw_zero(3), torch.full((3,), -0.25))


def test_splits_move_between_devices():
    splits = load_dataset("synthetic", **SMALL)
    moved = splits.to(torch.device("cpu"))
    assert isinstance(moved, Splits) and moved.device == torch.device("cpu")
    assert moved.train.x is splits.train.x  # already there: no copy
