"""Architecture graphs: ops, the canonical DAG, notations and path statistics (no torch)."""

from archscale.graph.architecture import (
    FAMILY_NAMES,
    Architecture,
    Family,
    ModuleOrigin,
    family_from_name,
    module_origin,
    parse_architecture,
)
from archscale.graph.dag import Edge, Graph
from archscale.graph.ops import Op, OpKind, op_from_name
from archscale.graph.paths import PathMoments, iter_paths, path_moments

__all__ = [
    "FAMILY_NAMES",
    "Architecture",
    "Edge",
    "Family",
    "Graph",
    "ModuleOrigin",
    "Op",
    "OpKind",
    "PathMoments",
    "family_from_name",
    "iter_paths",
    "module_origin",
    "op_from_name",
    "parse_architecture",
    "path_moments",
]
