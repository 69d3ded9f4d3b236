"""Torch models built from architecture graphs, and init schemes applied by name.

Families register themselves (`register_model`) when this package is imported:
`build_model(arch, ...)` then `init_model(model, "architecture-aware")`.
"""

from archscale.nn import cnn, mlp, nb201  # noqa: F401  (registers the families)
from archscale.nn.build import build_model
from archscale.nn.dag import DagNet
from archscale.nn.flops import ForwardCounts, LayerRow, count_flops, count_params, forward_counts, layer_summary
from archscale.nn.init import init_model, list_init_schemes, register_init
from archscale.nn.model import ArchModel, CellLayers, LayerMap, WeightLayer
from archscale.nn.nb201 import TinyNetwork
from archscale.nn.packed import PackedModel, pack_models, register_packer
from archscale.nn.registry import ModelSpec, family_entry, list_families, register_model

__all__ = [
    "ArchModel",
    "CellLayers",
    "DagNet",
    "ForwardCounts",
    "LayerMap",
    "LayerRow",
    "ModelSpec",
    "PackedModel",
    "TinyNetwork",
    "WeightLayer",
    "build_model",
    "count_flops",
    "count_params",
    "family_entry",
    "forward_counts",
    "init_model",
    "layer_summary",
    "list_families",
    "list_init_schemes",
    "pack_models",
    "register_init",
    "register_model",
    "register_packer",
]
