"""digits (bundled with scikit-learn) and mnist1d (generated offline, cached)."""

import random

import numpy as np
import pytest
import torch

from archscale.data import cache_dir, load_dataset, registry
from archscale.data import mnist1d as mnist1d_module
from archscale.errors import UserError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSCALE_CACHE", str(tmp_path / "cache"))
    forget()
    yield tmp_path / "cache"
    forget()


def forget():
    """Start as a fresh process would: no arrays in memory, no source kept by the registry."""
    mnist1d_module.arrays.cache_clear()
    registry._LAST.clear()


def test_digits_shapes_labels_and_normalisation():
    splits = load_dataset("digits", val_fraction=0.1)
    assert splits.input_shape == (1, 8, 8) and splits.num_classes == 10 and splits.augment_padding is None
    assert len(splits.train) + len(splits.val) + len(splits.test) == 1797
    assert abs(len(splits.test) - 0.2 * 1797) < 10
    assert sorted(set(splits.test.y.tolist())) == list(range(10))
    pool = torch.cat([splits.train.x, splits.val.x])
    assert abs(pool.mean().item()) < 1e-3 and abs(pool.std().item() - 1) < 1e-3
    assert "x/16" in str(splits.normalization)


def test_digits_test_split_depends_on_its_own_seed_only():
    a = load_dataset("digits", split_seed=0)
    b = load_dataset("digits", split_seed=1)
    c = load_dataset("digits", test_seed=1)
    assert torch.equal(a.test.x, b.test.x) and not torch.equal(a.val.x, b.val.x)
    assert not torch.equal(a.test.x, c.test.x)
    with pytest.raises(UserError, match="test_fraction must be in"):
        load_dataset("digits", test_fraction=1)


def test_digits_come_from_scikit_learn_then_from_the_cache(private_cache, monkeypatch):
    from sklearn.datasets import load_digits

    from archscale.data import digits as digits_module

    first = load_dataset("digits")
    assert list(private_cache.glob("digits-sklearn-*.npz"))
    forget()
    with monkeypatch.context() as patch:
        patch.setattr(digits_module, "_load", lambda: pytest.fail("scikit-learn read again although cached"))
        cached = load_dataset("digits")
    assert torch.equal(first.train.x, cached.train.x) and torch.equal(first.test.y, cached.test.y)
    reference = load_digits()  # every test image, restored to raw pixels, is one of scikit-learn's own
    images, targets = reference.images.astype(int), reference.target
    pool = {(tuple(img.flatten().tolist()), int(t)) for img, t in zip(images, targets, strict=True)}
    mean, std = cached.normalization.mean[0], cached.normalization.std[0]
    raw = torch.round((cached.test.x * std + mean) * 16).to(torch.int64)
    assert all((tuple(img.flatten().tolist()), int(t)) in pool for img, t in zip(raw, cached.test.y, strict=True))


def test_mnist1d_default_arguments_give_4000_train_and_1000_test(private_cache):
    np.random.seed(7)
    random.seed(7)
    numpy_before, python_before = np.random.get_state()[1].copy(), random.getstate()
    splits = load_dataset("mnist1d", val_fraction=0.1)
    assert np.array_equal(np.random.get_state()[1], numpy_before) and random.getstate() == python_before
    assert splits.input_shape == (1, 40) and splits.num_classes == 10
    assert len(splits.train) + len(splits.val) == 4000 and len(splits.test) == 1000
    assert splits.train.x.dtype == torch.float32 and splits.train.x.shape[1:] == (1, 40)
    assert list(private_cache.glob("mnist1d-*-n5000-seed42.npz"))

    # a fresh process finds the arrays on disk and never runs the generator
    forget()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mnist1d_module, "_generate", lambda *_: pytest.fail("regenerated although cached"))
        again = load_dataset("mnist1d", val_fraction=0.1)
    assert torch.equal(again.train.x, splits.train.x) and torch.equal(again.test.y, splits.test.y)


def test_mnist1d_options_and_an_unwritable_cache(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ARCHSCALE_CACHE", str(blocker / "cache"))
    splits = load_dataset("mnist1d", num_samples=200, seed=1, val_fraction=0)
    assert len(splits.train) == 160 and len(splits.test) == 40
    with pytest.raises(UserError, match="num_samples must be at least 10"):
        load_dataset("mnist1d", num_samples=5)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSCALE_CACHE", str(tmp_path / "a"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("ARCHSCALE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "archscale"
