"""CIFAR-10, CIFAR-100 and ImageNet16-120 read from tiny files written in their real formats."""

import os
import pickle

import numpy as np
import pytest
import torch

from archscale.data import load_dataset
from archscale.errors import UserError

CIFAR10_MEAN, CIFAR10_STD = (0.49139968, 0.48215827, 0.44653124), (0.2023, 0.1994, 0.2010)
IN16_MEAN = tuple(v / 255 for v in (122.68, 116.66, 104.01))
IN16_STD = tuple(v / 255 for v in (63.22, 61.26, 65.09))


def planes(n, side, values=(10, 20, 30)):
    """n rows of uint8 pixels, channel planes one after another, channel c filled with values[c]."""
    return np.concatenate([np.full((n, side * side), v, np.uint8) for v in values], axis=1)


def write(path, batch, protocol=2):
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


def cifar10_dir(root, per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        write(
            folder / f"data_batch_{i}",
            {"data": planes(per_batch, 32), "labels": [(i + j) % 10 for j in range(per_batch)]},
        )
    write(folder / "test_batch", {"data": planes(3, 32, (0, 255, 51)), "labels": [0, 1, 9]})
    return folder


def channel_means(x):
    return x.mean(dim=(0, 2, 3))


def test_cifar10_reads_the_python_version_files_from_the_folder_or_its_parent(tmp_path):
    folder = cifar10_dir(tmp_path)
    for root in (tmp_path, folder, str(folder)):
        splits = load_dataset("cifar10", root=root, val_fraction=0.2)
        assert len(splits.train) + len(splits.val) == 20 and len(splits.test) == 3
        assert splits.input_shape == (3, 32, 32) and splits.num_classes == 10
        assert splits.augment_padding == 4
    assert splits.test.y.tolist() == [0, 1, 9]
    expected = torch.tensor(
        [(v / 255 - m) / s for v, m, s in zip((10, 20, 30), CIFAR10_MEAN, CIFAR10_STD, strict=True)]
    )
    assert torch.allclose(channel_means(splits.train.x), expected, atol=1e-5)
    expected = torch.tensor(
        [(v / 255 - m) / s for v, m, s in zip((0, 255, 51), CIFAR10_MEAN, CIFAR10_STD, strict=True)]
    )
    assert torch.allclose(channel_means(splits.test.x), expected, atol=1e-5)
    assert "0.2023" in str(splits.normalization)


def test_cifar10_accepts_files_written_by_numpy_1(tmp_path):
    """The real files refer to numpy.core.multiarray, which numpy 2 renamed."""
    folder = cifar10_dir(tmp_path)
    blob = pickle.dumps({"data": planes(2, 32), "labels": [3, 4]}, protocol=2)
    assert b"numpy._core.multiarray" in blob
    (folder / "test_batch").write_bytes(blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert load_dataset("cifar10", root=tmp_path).test.y.tolist() == [3, 4]


def test_cifar10_flattens_for_mlps(tmp_path):
    cifar10_dir(tmp_path)
    splits = load_dataset("cifar10", root=tmp_path, flatten=True)
    assert splits.input_shape == (3072,) and splits.test.x.shape == (3, 3072)


def test_missing_cifar10_files_name_what_was_expected(tmp_path):
    message = r"cifar10: .* has no data_batch_1..5 and test_batch \(the 'CIFAR-10 python version' files\)"
    with pytest.raises(UserError, match=message):
        load_dataset("cifar10", root=tmp_path)
    folder = cifar10_dir(tmp_path / "x")
    os.remove(folder / "data_batch_3")
    with pytest.raises(UserError, match=message):
        load_dataset("cifar10", root=folder)
    with pytest.raises(UserError, match="cifar10: no data directory given"):
        load_dataset("cifar10")


def test_malformed_cifar10_files_are_named(tmp_path):
    folder = cifar10_dir(tmp_path)
    (folder / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(UserError, match=r"cifar10: cannot read .*data_batch_2 as a pickled data batch"):
        load_dataset("cifar10", root=tmp_path)
    write(folder / "data_batch_2", {"data": np.zeros((4, 100), np.uint8), "labels": [0] * 4})
    with pytest.raises(UserError, match=r"data_batch_2 is not a data batch: expected a dict with 'data' \(N, 3072\)"):
        load_dataset("cifar10", root=tmp_path)
    write(folder / "data_batch_2", {"data": planes(4, 32), "labels": [0, 1, 2, 10]})
    with pytest.raises(UserError, match=r"labels outside 0..9"):
        load_dataset("cifar10", root=tmp_path)


class Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_pickles_that_refer_to_code_are_refused_not_run(tmp_path):
    folder = cifar10_dir(tmp_path)
    write(folder / "test_batch", {"data": Exploit(tmp_path / "owned"), "labels": []})
    with pytest.raises(UserError, match=r"test_batch as a pickled data batch: it refers to .*system"):
        load_dataset("cifar10", root=tmp_path)
    assert not (tmp_path / "owned").exists()


def test_cifar100_uses_the_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    fine = [0, 57, 99, 12, 3, 4]
    write(folder / "train", {"data": planes(6, 32), "fine_labels": fine, "coarse_labels": [1] * 6})
    write(folder / "test", {"data": planes(2, 32), "fine_labels": [99, 0], "coarse_labels": [1, 1]})
    splits = load_dataset("cifar100", root=tmp_path, val_fraction=0)
    assert splits.num_classes == 100 and splits.train.y.tolist() == fine and splits.test.y.tolist() == [99, 0]
    assert torch.allclose(channel_means(splits.train.x)[0], torch.tensor((10 / 255 - 129.3 / 255) / (68.2 / 255)))
    with pytest.raises(UserError, match=r"cifar100: .* has no train and test \(the 'CIFAR-100 python version' files\)"):
        load_dataset("cifar100", root=tmp_path / "elsewhere")


def imagenet16_dir(root):
    folder = root / "ImageNet16"
    folder.mkdir()
    labels = [1, 120, 121, 1000, 2, 60]  # 1-based; only 1..120 are kept
    for i in range(1, 11):
        write(folder / f"train_data_batch_{i}", {"data": planes(6, 16), "labels": labels, "mean": np.zeros(768)}, 4)
    write(folder / "val_data", {"data": planes(3, 16, (255, 0, 128)), "labels": [120, 500, 7]}, 4)
    return folder


def test_imagenet16_120_keeps_the_first_120_classes_relabelled_from_zero(tmp_path):
    imagenet16_dir(tmp_path)
    splits = load_dataset("imagenet16-120", root=tmp_path, val_fraction=0)
    assert splits.num_classes == 120 and splits.input_shape == (3, 16, 16) and splits.augment_padding == 2
    assert len(splits.train) == 40 and sorted(set(splits.train.y.tolist())) == [0, 1, 59, 119]
    assert splits.test.y.tolist() == [119, 6]
    expected = torch.tensor([(v / 255 - m) / s for v, m, s in zip((255, 0, 128), IN16_MEAN, IN16_STD, strict=True)])
    assert torch.allclose(channel_means(splits.test.x), expected, atol=1e-5)


def test_missing_imagenet16_files_name_what_was_expected(tmp_path):
    folder = imagenet16_dir(tmp_path)
    os.remove(folder / "val_data")
    with pytest.raises(UserError, match=r"imagenet16-120: .* has no train_data_batch_1..10 and val_data"):
        load_dataset("imagenet16-120", root=tmp_path)
