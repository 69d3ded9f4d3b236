"""μP models (Yang et al. 2022, microsoft's `mup` package) for the MLP, CNN and NAS-Bench-201 families:
the baseline of the paper's App. E.3 ("basic usage" of `mup`, MuSGD).

`build_mup_model` follows mup's README: the target model and a base and a "delta" model that differ
from it only in width are built with `archscale.nn.registry.build_standard_model`; the target's readout is replaced by a
`mup.MuReadout` of the same shape (module replacement: the family code is untouched; the base and delta
models only lend their parameter shapes); `mup.set_base_shapes(target, base, delta=delta)`; then every
parameter is re-drawn with mup's init functions (`mup_init`). Train it with `mup_sgd` (`mup.MuSGD`), as
`archscale.train.train` does for every model with base shapes; `build_model(..., parametrization="mup")` and
the init scheme `mup` (`init_model`) are the registry's ways in.

Base widths (`base_widths`): the base is the family's standard width in archscale (`build_model`'s
default: MLP 128, CNN 32 channels, NAS-Bench-201 C = 16, the benchmark's own) and the delta twice that.
mup guarantees that a model at its base shapes is exactly the standard-parametrised model, so the
learning rate tuned for that model — NAS-Bench-201's 0.1 at C = 16, the LR the paper uses for μP — is
the one μP transfers to every other width. (mup's README example uses base width 1 and delta 2; a
1-channel NAS-Bench-201 is degenerate and no LR was ever tuned for it.) Consequence: at a target width
equal to the base width μP changes nothing but the init; compare μP at another width, or pass
`base_width`/`delta_width`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archscale.graph import Architecture, Family
from archscale.nn.model import WEIGHT_LAYERS, ArchModel
from archscale.nn.registry import build_standard_model, family_entry

try:
    import mup
except ImportError as error:  # pragma: no cover - the set-up always installs it
    raise ImportError(
        "archscale's μP baseline needs microsoft's mup: `pip install --no-deps mup==1.0.0` "
        "(--no-deps: it declares torchvision and seaborn, which it never imports; `make setup` does this)"
    ) from error

NORMALIZATION_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass(frozen=True)
class MupWidths:
    """The widths of a μP model: the one trained (`target`), the base (where μP equals the standard
    parametrisation) and the delta (which only tells mup which dimensions are widths)."""

    target: int
    base: int
    delta: int


def base_widths(
    family: Family, width: int | None = None, base_width: int | None = None, delta_width: int | None = None
) -> MupWidths:
    """The widths `build_mup_model` uses: `width` defaults to the family's standard width, `base_width`
    too (see the module docstring), `delta_width` to twice `base_width`. Raise ValueError when the
    delta width equals the base width (mup could not tell which dimensions scale)."""
    standard = family_entry(family).default_width
    base = standard if base_width is None else base_width
    delta = 2 * base if delta_width is None else delta_width
    if delta == base:
        raise ValueError(f"the delta width must differ from the base width ({base})")
    return MupWidths(target=standard if width is None else width, base=base, delta=delta)


def _replace_readout(model: ArchModel) -> None:
    """Swap the model's readout `nn.Linear` for a `mup.MuReadout` of the same shape, in place."""
    readout = model.layer_map().readout
    name = next(name for name, module in model.named_modules() if module is readout)
    parent_name, _, attribute = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    setattr(parent, attribute, mup.MuReadout(readout.in_features, readout.out_features, bias=readout.bias is not None))


def mup_init(model: nn.Module) -> None:
    """Re-draw every parameter of a model whose base shapes are set, the μP way, with mup's init.

    Weights of Linear/Conv layers, the MuReadout included: `mup.init.kaiming_normal_` (He, fan_in;
    the ReLU gain for every activation, as the authors' code does for GELU) — N(0, 2/fan_in) for input
    and hidden layers at any width, and for the readout N(0, 1/base fan_in) whatever the width (its
    forward divides by the width multiplier). Biases 0; BatchNorm γ = 1, β = 0. Raise TypeError on a
    parameterised module of another kind, so that no parameter keeps a non-μP init.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WEIGHT_LAYERS):
                linearity = "linear" if isinstance(module, mup.MuReadout) else "relu"
                mup.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity=linearity)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, NORMALIZATION_LAYERS):
                if module.affine:
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)
            elif any(True for _ in module.parameters(recurse=False)):
                raise TypeError(f"μP init does not know how to draw the parameters of {type(module).__name__}")


def build_mup_model(
    arch: Architecture,
    *,
    width: int | None = None,
    base_width: int | None = None,
    delta_width: int | None = None,
    **options: Any,
) -> ArchModel:
    """The μP model of `arch` at `width`, initialised (widths as in `base_widths`).

    `options` go to `build_standard_model` for all three models (`cells`, `classes`, `input_shape`,
    `batch_norm`, `activation`, ...). Every parameter carries mup's `infshape`, which `mup_sgd` needs.
    Raise UserError where `build_standard_model` would.
    """
    widths = base_widths(arch.family, width, base_width, delta_width)
    model = build_standard_model(arch, width=widths.target, **options)
    base = build_standard_model(arch, width=widths.base, **options)
    delta = build_standard_model(arch, width=widths.delta, **options)
    _replace_readout(model)
    mup.set_base_shapes(model, base, delta=delta, rescale_params=False)  # every parameter is re-drawn next
    mup_init(model)
    return model


def mup_sgd(
    model: nn.Module, *, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
) -> torch.optim.SGD:
    """`mup.MuSGD` over all of `model`'s parameters with the plain trainer's SGD arguments
    (`TrainConfig.momentum`, `nesterov`, `weight_decay`).

    MuSGD splits the parameters into groups with μP's multipliers (mup's `optim.py`): weights with
    two width dimensions (hidden layers) get lr / (fan_in multiplier / fan_out multiplier), i.e. `lr`
    when both grow alike; parameters with one (input-layer weights, biases, BatchNorm, the
    MuReadout's weight) get lr · width multiplier; the rest `lr`; weight decay is scaled inversely.
    Each group also carries `lr_mult` (its lr / `lr`): an LR schedule must set
    `group["lr"] = schedule(step) * group["lr_mult"]`, never one LR for all groups.
    """
    optimizer = mup.MuSGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    for group in optimizer.param_groups:
        group["lr_mult"] = group["lr"] / lr
    return optimizer
