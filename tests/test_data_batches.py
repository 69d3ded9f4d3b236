"""Device-resident batches and batched crop-and-flip augmentation."""

import pytest
import torch

from archscale.data import BatchIterator, CropFlip, Split


def numbered(n, shape=(1,)):
    return Split(
        torch.arange(n, dtype=torch.float32).view(n, *[1] * len(shape)).expand(n, *shape).clone(), torch.arange(n)
    )


def test_a_pass_visits_every_example_once_in_batches():
    batches = BatchIterator(numbered(10), 4, generator=torch.Generator().manual_seed(0))
    assert len(batches) == 3 and batches.batch_sizes() == [4, 4, 2]
    seen = [y for _, y in batches]
    assert [len(y) for y in seen] == [4, 4, 2]
    assert sorted(torch.cat(seen).tolist()) == list(range(10))
    for x, y in batches:
        assert torch.equal(x[:, 0], y.float())  # inputs and labels stay paired


def test_shuffling_is_fresh_per_pass_and_reproducible_by_seed():
    split = numbered(50)

    def orders(seed):
        batches = BatchIterator(split, 50, generator=torch.Generator().manual_seed(seed))
        return [next(iter(batches))[1].tolist() for _ in range(2)]

    first, second = orders(1)
    assert first != second and sorted(first) == list(range(50))
    assert orders(1) == [first, second] and orders(2) != [first, second]


def test_without_a_generator_batches_are_views_in_stored_order():
    split = numbered(5)
    x, y = next(iter(BatchIterator(split, 3)))
    assert y.tolist() == [0, 1, 2] and x.data_ptr() == split.x.data_ptr()


def test_augment_is_applied_to_inputs_only():
    batches = BatchIterator(numbered(4), 4, augment=lambda x: -x)
    x, y = next(iter(batches))
    assert x[:, 0].tolist() == [0, -1, -2, -3] and y.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="batch_size"):
        BatchIterator(numbered(4), 0)


def all_crops(image, padding, fill):
    """Every crop and mirrored crop torchvision's RandomCrop + RandomHorizontalFlip could give."""
    c, h, w = image.shape
    padded = fill.view(c, 1, 1).repeat(1, h + 2 * padding, w + 2 * padding)
    padded[:, padding : padding + h, padding : padding + w] = image
    crops = [padded[:, i : i + h, j : j + w] for i in range(2 * padding + 1) for j in range(2 * padding + 1)]
    return crops + [crop.flip(-1) for crop in crops]


def test_crop_flip_gives_each_image_one_of_its_padded_crops_or_their_mirrors():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, 6, 5)
    fill = torch.tensor([-1.0, -2.0, -3.0])
    out = CropFlip(2, fill, generator)(x)
    assert out.shape == x.shape
    for image, result in zip(x, out, strict=True):
        assert any(torch.equal(result, crop) for crop in all_crops(image, 2, fill))
    flipped = sum(any(torch.equal(r, c) for c in all_crops(i, 2, fill)[25:]) for i, r in zip(x, out, strict=True))
    assert 16 < flipped < 48  # about half are mirrored
    assert not torch.equal(out, CropFlip(2, fill, generator)(x))  # fresh randomness per call


def test_crop_flip_is_reproducible_and_padding_zero_only_flips():
    x = torch.randn(8, 2, 4, 4)
    fill = torch.zeros(2)
    a = CropFlip(4, fill, torch.Generator().manual_seed(5))(x)
    b = CropFlip(4, fill, torch.Generator().manual_seed(5))(x)
    assert torch.equal(a, b)
    out = CropFlip(0, fill, torch.Generator().manual_seed(5))(x)
    assert all(torch.equal(o, i) or torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True))
