"""Where and how a run computes: its device, its CPU threads, its models' placement and the forward
pass with the run's CUDA options (bf16 autocast, channels_last inputs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from archscale.errors import UserError
from archscale.train.config import DeviceName

Forward = Callable[[Tensor], Tensor]


def resolve_device(name: DeviceName) -> torch.device:
    """`auto` → CUDA when available, else the CPU; `cuda` without a CUDA device is a `UserError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device 'cuda' was asked for, but torch {torch.__version__} sees no CUDA device")
    return torch.device(name)


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """`torch.set_num_threads(count)` for the block (None: unchanged), restored afterwards."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def place(model: nn.Module, device: torch.device, channels_last: bool) -> None:
    """Move `model` to `device`, in the channels_last memory format when asked."""
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)


def on_device(net: Forward, *, bf16: bool, channels_last: bool) -> Forward:
    """`net` with the run's CUDA options: channels_last inputs, bf16 autocast."""

    def forward(x: Tensor) -> Tensor:
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            return net(x)

    return forward
