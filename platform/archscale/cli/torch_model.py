"""`archscale lr --torch` and `archscale model --torch`: the paper's numbers for a user's own nn.Module
(`package.module:callable`, called with `--args` JSON; the current directory is importable)."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from archscale.errors import UserError
from archscale.graph import iter_paths
from archscale.principles import Convention, DegreeRule, Scale, depth_rule, edge_degrees, lr_scale

if TYPE_CHECKING:
    from archscale.graph import ModuleOrigin
    from archscale.nn.traced import Traced, TracedModel

EXPLAIN_MAX_PATHS = 50
STEM_READOUT_RULE = (
    "stem and readout: every path starts with the stem '{stem}' and ends with the readout '{readout}'; "
    "node 0 is the stem's output, node {last} the readout's input"
)


def parse_args(text: str | None) -> dict[str, Any]:
    """The `--args` JSON object of keyword arguments ({} when not given); UserError otherwise."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--args is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UserError("--args must be a JSON object of keyword arguments, e.g. '{\"blocks\": 3}'")
    return value


def origin_of(factory: str, args: str | None, unsupported: str) -> ModuleOrigin:
    from archscale.graph import module_origin

    return module_origin(factory, parse_args(args), unsupported.strip().lower())


def trace_scale(
    factory: str, args: str | None, unsupported: str, convention: Convention
) -> tuple[ModuleOrigin, Traced, Scale]:
    """Trace the factory's module; its S and LR scale relative to its family's base network (one
    hidden layer), exactly as for a digit string."""
    origin = origin_of(factory, args, unsupported)  # bad --args fail before torch is imported
    from archscale.nn.traced import trace_origin

    traced = trace_origin(origin)
    return origin, traced, lr_scale(traced.arch, convention)


def json_extras(origin: ModuleOrigin, traced: Traced) -> dict[str, Any]:
    """The keys `archscale lr --torch --json` adds to `lr --json`'s: the module and the ops ignored."""
    return {
        "factory": origin.factory,
        "args": json.loads(origin.args),
        "unsupported": origin.unsupported,
        "ignored": list(traced.ignored),
    }


def render_torch(traced: Traced, scale: Scale, explain: bool) -> None:
    """The ops `unsupported: ignore` treated as depth-neutral; with `explain`, the stem/readout rules,
    the paths with their layers and depths, both conventions' S and every layer's init std."""
    console = Console()
    for what in traced.ignored:
        console.print(f"[yellow]unsupported op treated as depth-neutral (unsupported: ignore): {what}[/]")
    if explain:
        _explain(console, traced, scale)


def _explain(console: Console, traced: Traced, scale: Scale) -> None:
    from archscale.nn.init import architecture_aware_stds
    from archscale.nn.traced import TracedModel, build_module

    arch, graph = traced.arch, traced.arch.graph
    console.rule(f"[bold]{arch.short}[/] ({arch.family.value} rules, {scale.convention.value} convention)")
    console.print(STEM_READOUT_RULE.format(stem=traced.stem, readout=traced.readout, last=graph.output))
    console.print(f"graph between them: {arch.notation}")
    assert arch.origin is not None
    found = "; ".join(traced.ignored) or "none found"
    console.print(f"unsupported ops ({arch.origin.unsupported}): {found}")
    console.print(f"in-degrees of nodes 0..{graph.output}: {list(graph.in_degrees())}")
    for convention in Convention:
        rule = depth_rule(convention, arch.family)
        stats = lr_scale(arch, convention).stats
        console.print(
            f"{convention.value}: L_p = {rule.offset} + weight layers between stem and readout; S = Σ L_p³ = {stats.S}"
        )
    console.print(
        f"LR scale {scale.lr_factor:.6g} = sqrt(S_base / S) · kernel factor {scale.kernel_factor:.6g} "
        f"(S_base = {scale.S_base}: the {arch.family.value} family's base, one hidden layer)"
    )
    rule = depth_rule(scale.convention, arch.family)
    if scale.stats.paths <= EXPLAIN_MAX_PATHS:
        paths = Table("path (weight layers)", "L_p", title=f"{scale.stats.paths} input→output paths")
        for path in iter_paths(graph):
            layers = [traced.edges[(a, b)] for a, b in itertools.pairwise(path) if (a, b) in traced.edges]
            paths.add_row(" → ".join([traced.stem, *layers, traced.readout]), str(rule.offset + len(layers)))
        console.print(paths)
    else:
        moments = scale.stats.moments
        console.print(f"{scale.stats.paths} paths (min L_p {moments.min_depth}, max L_p {moments.max_depth})")
    model = TracedModel(build_module(arch.origin), traced)
    names = {id(module): name for name, module in model.net.named_modules()}
    edge_of = {name: edge for edge, name in traced.edges.items()}
    source, target = edge_degrees(graph, DegreeRule.SOURCE), edge_degrees(graph, DegreeRule.TARGET)
    stds = architecture_aware_stds(model, DegreeRule.SOURCE)
    targets = {id(layer): std for layer, std in architecture_aware_stds(model, DegreeRule.TARGET)}
    table = Table("layer", "edge", "d_in(src)", "d_in(dst)", "std (source rule)", "std (target rule)")
    table.title = "architecture-aware init std (official stem and readout)"
    for layer, std in stds:
        name = names[id(layer)]
        edge = edge_of.get(name)
        if edge is None:
            table.add_row(name, "stem" if name == traced.stem else "readout", "", "", f"{std:.5f}", "")
        else:
            table.add_row(
                name,
                f"{edge[0]}→{edge[1]}",
                str(source[edge]),
                str(target[edge]),
                f"{std:.5f}",
                f"{targets[id(layer)]:.5f}",
            )
    console.print(table)
    if traced.outside:
        console.print(f"weight layers on no edge (left at PyTorch's init): {', '.join(traced.outside)}")


def torch_record(
    factory: str, args: str | None, unsupported: str, input_shape: tuple[int, ...] | None
) -> tuple[TracedModel, dict[str, Any]]:
    """Build the factory's module; its `archscale model --json` record: parameters and forward FLOPs per
    sample (2 × MACs of its Linear/Conv layers) for `input_shape` (default: a Linear stem's inputs;
    UserError without one, or when the module fails on it)."""
    from archscale.nn import count_flops, count_params
    from archscale.nn.traced import build_traced

    origin = origin_of(factory, args, unsupported)
    model = build_traced(origin)
    shape = input_shape or _stem_inputs(model.net.get_submodule(model.traced.stem))
    if shape is None:
        raise UserError(f"give --input-shape (e.g. 3x32x32): {origin.name} starts with a convolution")
    build_traced(origin, input_shape=shape)  # checks that the module runs on it
    return model, {
        "arch": origin.name,
        "notation": model.arch.notation,
        "family": model.arch.family.value,
        "factory": origin.factory,
        "args": json.loads(origin.args),
        "kernel_size": model.arch.kernel_size,
        "input_shape": list(shape),
        "params": count_params(model),
        "flops": count_flops(model, shape),
        "status": "ok",
    }


def _stem_inputs(stem: Any) -> tuple[int, ...] | None:
    from torch import nn

    return (stem.in_features,) if isinstance(stem, nn.Linear) else None
