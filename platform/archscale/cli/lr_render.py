"""Rich rendering of `archscale lr` results: the summary table and the per-architecture derivation."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from archscale.cli.inputs import InputLine
from archscale.graph import Architecture, Family, iter_paths
from archscale.graph.paths import path_depth
from archscale.principles import DegreeRule, Scale, depth_rule, edge_degrees, he_std

EXPLAIN_MAX_PATHS = 50


def _fmt(value: float | None, digits: int = 6) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def render_table(results: list[tuple[InputLine, Scale | str]], base_lr: float) -> None:
    table = Table(title=f"Principled learning rates (base LR {base_lr:g})")
    table.add_column("arch", overflow="fold")
    table.add_column("family")
    for column in ("paths", "S", "k factor", "scale", "LR"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("status")
    for line, result in results:
        if isinstance(result, Scale):
            table.add_row(
                line.text,
                result.family.value,
                str(result.stats.paths),
                str(result.stats.S) if result.stats.S is not None else "—",
                _fmt(result.kernel_factor),
                _fmt(result.lr_factor),
                _fmt(result.lr(base_lr)),
                "ok" if result.has_path else "[yellow]no path[/]",
            )
        else:
            table.add_row(line.text, "", "", "", "", "", "", f"[red]line {line.number}: {result}[/]")
    Console().print(table)


def render_explanations(
    explained: list[tuple[Architecture, Scale]], width: int | None, default_width: dict[Family, int]
) -> None:
    console = Console()
    for arch, scale in explained:
        graph = arch.graph
        rule = depth_rule(scale.convention, arch.family)
        n = width or default_width[arch.family]
        console.rule(f"[bold]{arch.short}[/] ({arch.family.value}, {scale.convention.value} convention)")
        console.print(f"notation: {arch.notation}")
        console.print(f"in-degrees of nodes 0..{graph.num_nodes - 1}: {list(graph.in_degrees())}")
        if graph.dead_nodes():
            console.print(f"dead nodes (on no input→output path): {list(graph.dead_nodes())}")
        console.print(
            f"L_p = {rule.offset} + parameterised edges on the path; S = Σ L_p³ = {scale.stats.S}, "
            f"S_base = {scale.S_base}, kernel factor {_fmt(scale.kernel_factor)} → scale {_fmt(scale.lr_factor)}"
        )
        if scale.stats.paths <= EXPLAIN_MAX_PATHS:
            paths = Table("path", "L_p", title=f"{scale.stats.paths} input→output paths")
            for path in iter_paths(graph):
                paths.add_row("→".join(map(str, path)), str(path_depth(graph, path, offset=rule.offset)))
            console.print(paths)
        else:
            console.print(
                f"{scale.stats.paths} paths (not listed; min L_p {scale.stats.moments.min_depth}, "
                f"max L_p {scale.stats.moments.max_depth})"
            )
        _render_init(console, arch, n)


def _render_init(console: Console, arch: Architecture, width: int) -> None:
    graph = arch.graph
    kernel_area = 1 if arch.family is Family.MLP else None
    title = f"architecture-aware init std at width {width}"
    edges = Table("edge", "op", "d_in(src)", "d_in(dst)", "std (source rule)", "std (target rule)", title=title)
    source = edge_degrees(graph, DegreeRule.SOURCE)
    target = edge_degrees(graph, DegreeRule.TARGET)
    for edge in graph.edges:
        key = (edge.src, edge.dst)
        if key in source:
            area = kernel_area or (edge.op.kernel or 1) ** 2
            std_s, std_t = he_std(width * area, source[key]), he_std(width * area, target[key])
            edges.add_row(
                f"{edge.src}→{edge.dst}",
                edge.op.name,
                str(source[key]),
                str(target[key]),
                f"{std_s:.5f}",
                f"{std_t:.5f}",
            )
        else:
            edges.add_row(f"{edge.src}→{edge.dst}", edge.op.name, "", "", "no weights", "")
    console.print(edges)
