"""A ResNet-style CNN built only from ops archscale's torch.fx reader understands: convolutions
(parameterised edges), residual additions (nodes that sum their inputs), BatchNorm, ReLU and global
average pooling (depth-neutral), and a Linear readout.

Every path from the input to the logits starts at the stem convolution and ends at the readout; a
block either passes its input on (the identity) or through its two convolutions, so `blocks` B gives
2^B paths with 0, 2, ..., 2B convolutions between stem and readout.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus the identity, then ReLU (He et al., 2016), at a fixed width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class ResNet(nn.Module):
    """Stem convolution, `blocks` residual blocks of `width` channels, global pooling, Linear readout."""

    def __init__(self, blocks: int, width: int, classes: int, in_channels: int) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.blocks = nn.Sequential(*(BasicBlock(width) for _ in range(blocks)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.readout = nn.Linear(width, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn(self.stem(x)))
        x = self.blocks(x)
        return self.readout(torch.flatten(self.pool(x), 1))


def resnet(blocks: int = 2, width: int = 16, classes: int = 10, in_channels: int = 1) -> ResNet:
    """The ResNet-style CNN with `blocks` residual blocks (the study's factory)."""
    if blocks < 0 or width < 1:
        raise ValueError(f"blocks must be >= 0 and width >= 1, got blocks={blocks}, width={width}")
    return ResNet(blocks, width, classes, in_channels)
