"""A topology coordinate check in the spirit of μP's: does every node's signal stay Θ(1) across the
graph, at initialisation and after a few SGD steps, under kaiming vs architecture-aware init?

For each init scheme, the RMS of every live node's activations on a fixed Gaussian batch is measured
at initialisation, then the network takes `steps` SGD steps (cross-entropy on random labels) and the
RMS of each node's *change* is measured on the same batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from archscale.graph import Architecture
from archscale.nn.build import build_model
from archscale.nn.dag import DagNet
from archscale.nn.init import init_model
from archscale.nn.registry import family_entry


@dataclass(frozen=True)
class NodeStats:
    """`rms_init`: RMS of the node's activations at init; `rms_delta`: RMS of their change after the steps."""

    node: int
    rms_init: float
    rms_delta: float


@dataclass(frozen=True)
class CheckResult:
    scheme: str
    lr: float
    steps: int
    nodes: list[NodeStats]

    def growth(self) -> float:
        """RMS at the output node ÷ RMS at the input node (1 when the signal is preserved)."""
        return self.nodes[-1].rms_init / self.nodes[0].rms_init


def coordinate_check(
    arch: Architecture,
    scheme: str,
    *,
    lr: float,
    width: int | None = None,
    steps: int = 3,
    batch: int = 256,
    seed: int = 0,
    input_shape: tuple[int, ...] | None = None,
) -> CheckResult:
    """Measure per-node activation RMS at init and its change after `steps` SGD steps at `lr`."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    shape = input_shape or family_entry(arch.family).default_input_shape
    model = build_model(arch, width=width, classes=10, input_shape=shape)
    if not isinstance(model, DagNet):
        raise TypeError("the coordinate check needs a DAG model (mlp or cnn family)")
    init_model(model, scheme)
    x = torch.randn((batch, *shape), generator=generator)
    y = torch.randint(0, 10, (batch,), generator=generator)
    before = _activations(model, x)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    after = _activations(model, x)
    nodes = [NodeStats(n, _rms(before[n]), _rms(after[n] - before[n])) for n in sorted(before)]
    return CheckResult(scheme, lr, steps, nodes)


def _activations(model: DagNet, x: torch.Tensor) -> dict[int, torch.Tensor]:
    with torch.no_grad():
        return {n: t.detach().clone() for n, t in model.node_activations(x).items()}


def _rms(t: torch.Tensor) -> float:
    return float(t.pow(2).mean().sqrt())
