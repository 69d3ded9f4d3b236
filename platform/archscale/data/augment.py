"""Batched, on-device image augmentation: random crop with padding plus horizontal flip.

The same transform as torchvision's `RandomHorizontalFlip()` + `RandomCrop(size, padding=p)` (the
order of the paper's and NAS-Bench-201's pipelines) applied to each image, but done for a whole batch
with a handful of tensor ops on the batch's device: no per-image Python, no worker processes.
Padding uses the stored value of a raw 0 pixel, as torchvision pads the raw image before normalising.
"""

from __future__ import annotations

import torch
from torch import Tensor


class CropFlip:
    """Callable `augment(x)` for batches (B, C, H, W) whose randomness comes from `generator`.

    `fill` holds one padding value per channel; `generator` must live on the batches' device.
    """

    def __init__(self, padding: int, fill: Tensor, generator: torch.Generator) -> None:
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        self.padding = padding
        self.fill = fill
        self.generator = generator

    def __call__(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        p, device = self.padding, x.device
        flip = torch.rand((b, 1, 1, 1), generator=self.generator, device=device) < 0.5
        x = torch.where(flip, x.flip(-1), x)
        if p == 0:
            return x
        padded = x.new_empty(b, c, h + 2 * p, w + 2 * p)
        fill = self.fill.to(device, x.dtype).view(1, c, 1, 1)
        for border in (padded[:, :, :p], padded[:, :, -p:], padded[..., :p], padded[..., -p:]):
            border.copy_(fill.expand_as(border))
        padded[:, :, p:-p, p:-p] = x
        dy = torch.randint(0, 2 * p + 1, (b,), generator=self.generator, device=device)
        dx = torch.randint(0, 2 * p + 1, (b,), generator=self.generator, device=device)
        crops = padded.unfold(2, h, 1).unfold(3, w, 1)  # (B, C, 2p+1, 2p+1, H, W): views of every crop
        return crops[torch.arange(b, device=device), :, dy, dx]
