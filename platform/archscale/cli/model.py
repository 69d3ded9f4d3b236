"""`archscale model`: the torch network of architectures — parameters, FLOPs and layers.

A batch (several arguments, a file or standard input) never stops at one line: each line gets a
record with a `status` (`ok`, `no-path`, or `error` with its message), and exit status 0 with the
counts on stderr; `--strict` stops at the first line that cannot be built (exit 2).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archscale.cli.inputs import InputLine, read_architectures
from archscale.cli.options import ArchitecturesArgument, ArgsOption, FamilyOption, TorchOption, UnsupportedOption
from archscale.errors import UserError
from archscale.graph import Architecture, Family, family_from_name, parse_architecture

if TYPE_CHECKING:
    from torch import nn

    from archscale.nn import ArchModel, LayerRow


def parse_shape(text: str) -> tuple[int, ...]:
    """`3x32x32` → (3, 32, 32); raise UserError unless every size is a positive integer."""
    parts = text.lower().replace(",", "x").split("x")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise UserError(f"--input-shape '{text}' must be positive sizes joined by 'x', e.g. 3x32x32 or 1x40")
    return tuple(int(p) for p in parts)


def model(
    architectures: ArchitecturesArgument = None,
    family: FamilyOption = None,
    width: Annotated[
        int | None,
        typer.Option("--width", "--channels", help="Width (NB201: channels C). Default: mlp 128, cnn 32, nb201 16."),
    ] = None,
    cells: Annotated[int, typer.Option(help="NB201 cells per stage (N).")] = 5,
    kernel_size: Annotated[int, typer.Option(help="CNN kernel size of the stem and of digit-2 edges.")] = 3,
    classes: Annotated[int, typer.Option(help="Number of output classes.")] = 10,
    input_shape: Annotated[
        str | None,
        typer.Option(
            help="Per-sample input shape, e.g. 3x32x32. Default: mlp and cnn 1x40 (mnist1d; a CNN takes "
            "CxL as a sequence, CxHxW as an image), nb201 3x32x32 (CIFAR).",
        ),
    ] = None,
    batch_norm: Annotated[bool, typer.Option(help="BatchNorm after the stem and every DAG block.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per architecture.")] = False,
    file: Annotated[Path | None, typer.Option(help="Read architectures from this file, one per line.")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first line that cannot be built (exit 2).")] = False,
    torch: TorchOption = None,
    args: ArgsOption = None,
    unsupported: UnsupportedOption = "error",
) -> None:
    """Build each architecture's network and show its parameters, forward FLOPs per sample
    (2 × multiply-accumulates of Linear/Conv layers) and layers. NAS-Bench-201 cells are built as the
    benchmark builds them, every edge included, also without an input→output path (status no-path).
    With --torch: your own module instead (--args, --input-shape; no architectures)."""
    fam = family_from_name(family) if family else None
    shape = parse_shape(input_shape) if input_shape else None
    if torch is not None:
        if architectures or file is not None:
            raise UserError("give architectures or --torch, not both")
        from archscale.cli.torch_model import torch_record

        net, record = torch_record(torch, args, unsupported, shape)
        if as_json:
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            title = f"{record['arch']} ({record['family']} rules, input {'x'.join(map(str, record['input_shape']))})"
            render_layers(net.net, title, record)
        return
    lines, batch = read_architectures(architectures, file)
    if not lines:
        raise UserError("no architecture given: the input has no architecture lines")

    from archscale.nn import build_model, count_flops, count_params, family_entry

    statuses: Counter[str] = Counter()
    for line in lines:
        try:
            arch = parse_architecture(line.text, fam, kernel_size)
            net = build_model(arch, width=width, cells=cells, classes=classes, input_shape=shape, batch_norm=batch_norm)
        except UserError as exc:
            if strict or not batch:
                raise UserError(f"line {line.number}: {exc}" if batch else str(exc)) from None
            statuses["error"] += 1
            _write_error(line, str(exc), as_json)
            continue
        entry = family_entry(arch.family)
        used_shape = shape or entry.default_input_shape
        record = {
            "arch": line.text,
            "notation": arch.notation,
            "family": arch.family.value,
            "width": width or entry.default_width,
            "cells": cells if arch.family is Family.NB201 else None,
            "kernel_size": arch.kernel_size,
            "classes": classes,
            "input_shape": list(used_shape),
            "batch_norm": batch_norm,
            "params": count_params(net),
            "flops": count_flops(net, used_shape),
            "status": "ok" if arch.graph.has_path() else "no-path",
        }
        statuses[record["status"]] += 1
        if as_json:
            sys.stdout.write(json.dumps(record) + "\n")
        else:
            _render(arch, net, record)
    if batch and statuses["ok"] < len(lines):
        counts = ", ".join(f"{statuses[s]} {s}" for s in ("ok", "no-path", "error") if statuses[s])
        print(f"archscale: {len(lines)} lines: {counts}", file=sys.stderr)


def _write_error(line: InputLine, message: str, as_json: bool) -> None:
    """A line that could not be built: a JSON record (`status: error`) on stdout, or a line on stderr."""
    if as_json:
        record = {"arch": line.text, "line": line.number, "status": "error", "error": message}
        sys.stdout.write(json.dumps(record) + "\n")
    else:
        print(f"archscale: line {line.number}: {message}", file=sys.stderr)


def _render(arch: Architecture, net: ArchModel, record: dict[str, Any]) -> None:
    shape = "x".join(str(d) for d in record["input_shape"])
    render_layers(net, f"{arch.notation} ({arch.family.value}, width {record['width']}, input {shape})", record)


def render_layers(net: nn.Module, title: str, record: dict[str, Any]) -> None:
    """The layer table of `net` under `title`, with the record's parameters and FLOPs as its caption."""
    from rich.console import Console
    from rich.table import Table

    from archscale.nn import layer_summary

    table = Table(
        title=title,
        caption=f"{record['params']:,} parameters · {record['flops']:,} FLOPs per sample"
        + (" · no input→output path: the output is constant" if record["status"] == "no-path" else ""),
    )
    for column in ("layer", "module", "detail", "params"):
        table.add_column(column, justify="right" if column == "params" else "left", overflow="fold")
    for rows in _repeats(layer_summary(net)):
        first, n = rows[0], len(rows)
        name = first.name if n == 1 else f"{first.name}–{rows[-1].name.rsplit('.', 1)[-1]}"
        kind = first.kind if n == 1 else f"{first.kind} ×{n}"
        table.add_row(name, kind, first.detail, f"{sum(r.params for r in rows):,}")
    Console().print(table)


def _repeats(rows: list[LayerRow]) -> list[list[LayerRow]]:
    """Runs of list entries (`cells.0`, `cells.1`, ...) with the same module, detail and size, grouped
    (the cells of a stage)."""
    groups: list[list[LayerRow]] = []
    for row in rows:
        last = groups[-1][-1] if groups else None
        if last and _same_run(last, row):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _same_run(prev: LayerRow, row: LayerRow) -> bool:
    head, _, index = row.name.rpartition(".")
    prev_head, _, prev_index = prev.name.rpartition(".")
    consecutive = index.isdigit() and prev_index.isdigit() and int(index) == int(prev_index) + 1
    same = (prev.kind, prev.detail, prev.params) == (row.kind, row.detail, row.params)
    return consecutive and head == prev_head and same
