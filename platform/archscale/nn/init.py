"""Initialisation schemes by name (`init_model`), each returning the settings to record with a run.

- `pytorch-default`: torch's own init, untouched.
- `kaiming`: He normal (fan_in, gain √2) on every Linear/Conv, readout included.
- `mup`: μP's init (`archscale.nn.mup.mup_init`) on a model built with `parametrization="mup"`.
- `architecture-aware`: the paper's in-degree-scaled He init (`archscale.principles.init`); with
  the defaults (`degree_rule="source"`, `readout="official"`) it reproduces the authors' code
  (paper-spec §3.2): official stem (fan_out for MLP/CNN, D5), hidden edge j→k std
  sqrt(2 / (fan_in · max(d, 1))), NAS-Bench-201 reduction degrees 2/1/2 (D8), readout std 2/K
  (MLP/CNN) or 2/(4C) (NAS-Bench-201) at degree 1 (D4, D20). The stem is official under every rule.

A scheme draws for one parametrization (`register_init`'s `parametrization`): `mup` only for μP
models (those with base shapes), every other scheme only for standard ones. `init_model` refuses any
other pairing with a UserError: on a μP model `pytorch-default` would record torch's init while the
builder drew μP's, and the standard schemes' readout rules do not account for `MuReadout` dividing
its output by the width multiplier.

Every scheme except `pytorch-default` zeroes all biases and sets BatchNorm γ=1, β=0. Draws use
torch's global RNG (seed it with `torch.manual_seed`).

The gain (paper App. E.2). The stds above are He's N(0, C / fan) with the ReLU factor C = 2. The
authors' code keeps C = 2 (std gain √2) for GELU networks too (paper-spec §6.2): `gain="relu"`, the
default, reproduces that. `gain="activation"` uses the model's own activation's variance-preserving
factor `variance_gain(name)` instead, on every layer the activation follows (stem and DAG edges; for
`kaiming`, every layer as with ReLU); the readout rules of `architecture-aware` are unchanged.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from enum import StrEnum

import torch
from torch import Tensor, nn

from archscale.errors import UserError
from archscale.nn.dag import DagNet
from archscale.nn.model import WEIGHT_LAYERS, ArchModel, WeightLayer
from archscale.nn.registry import Parametrization, parametrization_of
from archscale.principles.init import (
    NB201_REDUCTION_DEGREES,
    DegreeRule,
    ReadoutRule,
    degree_rule_from_name,
    edge_degrees,
    he_std,
    readout_rule_from_name,
    readout_std,
    stem_std,
)


class Gain(StrEnum):
    """Which activation's variance factor C scales He's N(0, C / fan): always ReLU's (the authors'
    code) or the model's own activation's."""

    RELU = "relu"
    ACTIVATION = "activation"


_VARIANCE_GAINS = {"relu": 2.0, "gelu": 1.0 / (1.0 / 3.0 + 1.0 / (2.0 * math.pi * math.sqrt(3.0)))}


def variance_gain(activation: str) -> float:
    """C = E[z²] / E[φ(z)²] for z ~ N(0, 1): the factor of N(0, C / fan) that keeps a unit-variance
    pre-activation's second moment from layer to layer.

    ReLU: E[ReLU(z)²] = 1/2, so C = 2. GELU (exact, zΦ(z)): E[GELU(z)²] = 1/3 + 1/(2π√3) ≈ 0.42522
    (Stein's lemma twice), so C ≈ 2.35172. GELU is not positively homogeneous, so its factor is
    exact only at unit pre-activation variance. Raise UserError on an unknown activation.
    """
    if activation not in _VARIANCE_GAINS:
        raise UserError(f"no variance gain for activation '{activation}'; known: {', '.join(_VARIANCE_GAINS)}")
    return _VARIANCE_GAINS[activation]


def _gain_factor(model: ArchModel, gain: Gain) -> float:
    """sqrt(C / 2): the std multiplier, relative to ReLU's He init, of `gain` for `model`."""
    if gain is Gain.RELU:
        return 1.0
    activation = model.activation if isinstance(model, DagNet) else "relu"  # NAS-Bench-201 is ReLU only
    return math.sqrt(variance_gain(activation) / 2.0)


def _gain_settings(gain: Gain) -> dict[str, str]:
    """The recorded gain: only when not the default, so that settings recorded before it existed stay equal."""
    return {} if gain is Gain.RELU else {"gain": gain.value}


InitScheme = Callable[[ArchModel, DegreeRule, ReadoutRule, Gain], dict[str, str]]
"""Initialise a model in place; return the settings that define the result."""

_SCHEMES: dict[str, tuple[InitScheme, Parametrization]] = {}


def register_init(name: str, *, parametrization: Parametrization = "standard") -> Callable[[InitScheme], InitScheme]:
    """Decorator registering an init scheme under `name`, for models of `parametrization` only."""

    def register(scheme: InitScheme) -> InitScheme:
        if name in _SCHEMES:
            raise ValueError(f"init scheme {name} is already registered")
        _SCHEMES[name] = (scheme, parametrization)
        return scheme

    return register


def list_init_schemes(pattern: str = "*") -> list[str]:
    """Names of the registered init schemes matching a shell-style pattern, sorted."""
    return sorted(name for name in _SCHEMES if fnmatch.fnmatch(name, pattern))


def init_model(
    model: ArchModel,
    scheme: str,
    *,
    degree_rule: str = "source",
    readout: str = "official",
    gain: str = "relu",
) -> dict[str, str]:
    """Initialise `model` in place with `scheme`; return the recorded settings (JSON-able): `init`,
    the scheme, and `init_model`'s keywords that define the result.

    `degree_rule` (source/target), `readout` (official/mup/paper) and `gain` (relu/activation) are
    validated always and recorded only by the schemes that use them (`gain` only when not `relu`).
    Raise UserError on an unknown name, or when the scheme does not draw for the model's
    parametrization (see the module docstring).
    """
    key = scheme.strip().lower()
    if key not in _SCHEMES:
        raise UserError(f"unknown init scheme '{scheme}'; known: {', '.join(list_init_schemes())}")
    try:
        gain_rule = Gain(gain.strip().lower())
    except ValueError:
        raise UserError(f"unknown gain '{gain}'; known: {', '.join(g.value for g in Gain)}") from None
    draw, drawn_for = _SCHEMES[key]
    built = parametrization_of(model)
    if built != drawn_for:
        fitting = ", ".join(name for name, (_, p) in sorted(_SCHEMES.items()) if p == built)
        shapes = (
            "has μP base shapes" if built == "mup" else "has no μP base shapes (build it with parametrization 'mup')"
        )
        raise UserError(
            f"init scheme '{key}' is for {drawn_for}-parametrised models, but this model {shapes}; use: {fitting}"
        )
    return draw(model, degree_rule_from_name(degree_rule), readout_rule_from_name(readout), gain_rule)


def _fan_in(layer: WeightLayer) -> int:
    """Inputs per output unit: in_features, or in_channels · kernel volume."""
    if isinstance(layer, nn.Linear):
        return layer.in_features
    return layer.in_channels // layer.groups * math.prod(layer.kernel_size)


def _normal_(weight: Tensor, std: float) -> None:
    with torch.no_grad():
        nn.init.normal_(weight, 0.0, std)


def _reset_affine(model: nn.Module) -> None:
    """Biases of weight layers to 0; BatchNorm γ to 1 and β to 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, WEIGHT_LAYERS) and module.bias is not None:
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)


@register_init("pytorch-default")
def _pytorch_default(model: ArchModel, degree_rule: DegreeRule, readout: ReadoutRule, gain: Gain) -> dict[str, str]:
    return {"init": "pytorch-default"}


@register_init("mup", parametrization="mup")
def _mup(model: ArchModel, degree_rule: DegreeRule, readout: ReadoutRule, gain: Gain) -> dict[str, str]:
    from archscale.nn.mup import mup_init

    mup_init(model)
    return {"init": "mup"}


@register_init("kaiming")
def _kaiming(model: ArchModel, degree_rule: DegreeRule, readout: ReadoutRule, gain: Gain) -> dict[str, str]:
    factor = _gain_factor(model, gain)
    for module in model.modules():
        if isinstance(module, WEIGHT_LAYERS):
            _normal_(module.weight, factor * he_std(_fan_in(module)))
    _reset_affine(model)
    return {"init": "kaiming", **_gain_settings(gain)}


def architecture_aware_stds(
    model: ArchModel,
    degree_rule: DegreeRule = DegreeRule.SOURCE,
    readout: ReadoutRule = ReadoutRule.OFFICIAL,
    gain: Gain = Gain.RELU,
) -> list[tuple[WeightLayer, float]]:
    """The std `architecture-aware` draws each weight layer of `model` with, in its drawing order:
    the stem, every cell's parameterised edges, NAS-Bench-201's reduction blocks, the readout."""
    layers = model.layer_map()
    family = model.arch.family
    factor = _gain_factor(model, gain)
    stem = layers.stem
    if isinstance(stem, nn.Linear):
        std = stem_std(family, stem.out_features, stem.in_features, kernel=1, dims=0)
    else:
        kernel, dims = stem.kernel_size[0], len(stem.kernel_size)
        std = stem_std(family, stem.out_channels, stem.in_channels, kernel=kernel, dims=dims)
    stds: list[tuple[WeightLayer, float]] = [(stem, factor * std)]
    degrees = {cell.graph: edge_degrees(cell.graph, degree_rule) for cell in layers.cells}
    for cell in layers.cells:
        for edge, layer in cell.edges.items():
            stds.append((layer, factor * he_std(_fan_in(layer), degrees[cell.graph][edge])))
    for block in layers.reductions:
        for name, layer in block.items():
            stds.append((layer, factor * he_std(_fan_in(layer), NB201_REDUCTION_DEGREES[name])))
    head = layers.readout
    stds.append((head, readout_std(readout, family, head.in_features, head.out_features)))
    return stds


@register_init("architecture-aware")
def _architecture_aware(model: ArchModel, degree_rule: DegreeRule, readout: ReadoutRule, gain: Gain) -> dict[str, str]:
    for layer, std in architecture_aware_stds(model, degree_rule, readout, gain):
        _normal_(layer.weight, std)
    _reset_affine(model)
    settings = {"init": "architecture-aware", "degree_rule": degree_rule.value, "readout": readout.value}
    return {**settings, **_gain_settings(gain)}
