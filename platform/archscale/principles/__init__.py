"""The paper's rules: LR scale S = Σ_p L_p³ with transfer, and architecture-aware init (no torch)."""

from archscale.principles.conventions import (
    CONVENTION_NAMES,
    Convention,
    convention_from_name,
    default_base,
    depth_rule,
)
from archscale.principles.init import DegreeRule, ReadoutRule, edge_degrees, edge_stds, he_std, readout_std
from archscale.principles.scale import (
    DepthStats,
    Scale,
    Transfer,
    depth_stats,
    digit_string_scale,
    hits_blockless_quirk,
    lr_scale,
    transfer,
)

__all__ = [
    "CONVENTION_NAMES",
    "Convention",
    "DegreeRule",
    "DepthStats",
    "ReadoutRule",
    "Scale",
    "Transfer",
    "convention_from_name",
    "default_base",
    "depth_rule",
    "depth_stats",
    "digit_string_scale",
    "edge_degrees",
    "edge_stds",
    "he_std",
    "hits_blockless_quirk",
    "lr_scale",
    "readout_std",
    "transfer",
]
