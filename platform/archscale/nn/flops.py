"""Model size: parameter counts, forward FLOPs per sample, and a layer table for display.

FLOPs are counted as 2 × multiply-accumulates (MACs) of the Linear and Conv layers, measured with
forward hooks on one sample, so edges that are not built or not run cost nothing. Biases,
normalisation, activations, pooling and node sums are not counted. (NAS-Bench-201's `flops`, from
xautodl's `get_model_infos`, are in millions and count the MACs plus the classifier's bias additions:
this number is 2 × (flops · 10⁶ − classes).)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from archscale.nn.model import WEIGHT_LAYERS, describe_layer


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _macs(module: nn.Module, output: Tensor) -> int:
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    assert isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d)
    return output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)


def count_flops(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Forward FLOPs (2 × MACs of Linear/Conv layers) for one sample of shape `input_shape`.

    Runs one zero sample in eval mode without gradients; the model's training mode is restored.
    """
    return forward_counts(model, input_shape).flops


@dataclass(frozen=True)
class ForwardCounts:
    """What one forward pass of one sample runs: `flops` (2 × MACs of the Linear/Conv layers), `calls`, the
    leaf modules called (weight layers, normalisations, activations, pooling, ...), of which
    `weight_calls` Linear/Conv layers: what a step's fixed cost scales with, whatever the batch; and
    whether the network has a convolution (whose calls cost more each than a dense network's)."""

    flops: int
    calls: int
    weight_calls: int
    convolutional: bool

    @property
    def kind(self) -> str:
        """`conv` for a network with a convolution, else `dense`: the two kinds of fixed cost per step."""
        return "conv" if self.convolutional else "dense"


def forward_counts(model: nn.Module, input_shape: tuple[int, ...]) -> ForwardCounts:
    """`ForwardCounts` of one zero sample of shape `input_shape`, run in eval mode without gradients;
    the model's training mode is restored."""
    flops = calls = weight_calls = 0

    def weight_hook(module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal flops, weight_calls
        flops += 2 * _macs(module, output)
        weight_calls += 1

    def call_hook(_module: nn.Module, _inputs: tuple[Tensor, ...], _output: Tensor) -> None:
        nonlocal calls
        calls += 1

    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(call_hook) for m in leaves]
    handles += [m.register_forward_hook(weight_hook) for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    first = next(model.parameters(), None)
    sample = torch.zeros((1, *input_shape)) if first is None else first.new_zeros((1, *input_shape))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(sample)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    convolutional = any(isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d) for m in leaves)
    return ForwardCounts(flops, calls, weight_calls, convolutional)


@dataclass(frozen=True)
class LayerRow:
    """One line of a model summary: a top-level part (containers expanded one level)."""

    name: str
    kind: str
    detail: str
    params: int


def layer_summary(model: nn.Module) -> list[LayerRow]:
    """Rows for the model's parts in forward order; lists/dicts of modules (DAG edges, cells) are
    expanded one level, and parameter-free parts outside them are left out."""
    rows: list[LayerRow] = []
    for name, child in model.named_children():
        if isinstance(child, nn.ModuleList | nn.ModuleDict):
            parts = [(f"{name}.{sub}", module) for sub, module in child.named_children()]
        elif count_params(child):
            parts = [(name, child)]
        else:
            parts = []
        rows += [LayerRow(n, type(m).__name__, _detail(m), count_params(m)) for n, m in parts]
    return rows


def _detail(module: nn.Module) -> str:
    """A weight layer's `describe_layer`, else the module's own `extra_repr`, else its children's names."""
    if isinstance(module, WEIGHT_LAYERS):
        return describe_layer(module)
    return module.extra_repr() or ", ".join(type(c).__name__ for c in module.children())
