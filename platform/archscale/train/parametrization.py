"""How a model trains by its parametrization (`archscale.nn.registry.Parametrization`): the one place
training reads it.

- `standard`: torch's SGD, one learning rate for all parameters; runs of one architecture may share
  a pack (`archscale.train.train_pack`).
- `mup` (a model with μP base shapes, `archscale.nn.mup`): MuSGD, whose parameter groups carry
  `lr_mult`, so every step sets a group's LR to the schedule's LR times its `lr_mult`. μP's readout
  and per-group learning rates have no packed form: μP runs train alone (`archscale.train.train`).

A user's module (`family: torch`) trains alone too: its forward may mix a pack's members. Torch is
imported only where a model is at hand, so that the planner reads `packable` without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from archscale.train.config import TrainConfig

PACKABLE = frozenset({"standard"})
"""The parametrizations whose runs may share a pack."""


def packable(build_options: Mapping[str, object]) -> bool:
    """Whether runs of models built with these `build_model` options may share a pack."""
    return build_options.get("parametrization", "standard") in PACKABLE


def trains_alone(model: nn.Module) -> bool:
    """Whether `model` must train unpacked: a μP model, or a user's module."""
    from archscale.nn.registry import parametrization_of
    from archscale.nn.traced import TracedModel

    return parametrization_of(model) not in PACKABLE or isinstance(model, TracedModel)


def sgd(model: nn.Module, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """SGD at `lr` with the config's momentum, Nesterov and weight decay; for a model with μP base
    shapes MuSGD (`archscale.nn.mup.mup_sgd`: groups scaled from `config.lr`, each with its `lr_mult`)."""
    import torch

    from archscale.nn.registry import parametrization_of

    momentum, nesterov, weight_decay = config.momentum, config.nesterov, config.weight_decay
    if parametrization_of(model) == "mup":
        from archscale.nn.mup import mup_sgd

        return mup_sgd(model, lr=config.lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set each parameter group's LR to `lr` times its `lr_mult` (1 for plain SGD's single group)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
