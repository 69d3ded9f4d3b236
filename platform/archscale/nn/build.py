"""`build_model`: an architecture's torch model in either parametrization, standard (its family's
factory, `archscale.nn.registry`) or μP (`archscale.nn.mup`)."""

from __future__ import annotations

from typing import Any, get_args

from archscale.errors import UserError
from archscale.graph import Architecture
from archscale.nn.model import ArchModel
from archscale.nn.registry import Parametrization, build_standard_model, positive


def build_model(
    arch: Architecture,
    *,
    width: int | None = None,
    cells: int = 5,
    classes: int = 10,
    input_shape: tuple[int, ...] | None = None,
    batch_norm: bool = False,
    prune_dead_edges: bool = False,
    activation: str = "relu",
    parametrization: str = "standard",
    mup_base_width: int | None = None,
) -> ArchModel:
    """Build the torch model of `arch` with torch's default init (apply a scheme with `init_model`).

    `width` and `input_shape` default per family (`family_entry`); `prune_dead_edges` as in
    `ModelSpec`; `activation` (`relu` or `gelu`) for the families that offer it (MLP, CNN; paper
    App. E.2). `parametrization="mup"` builds the μP model instead (`archscale.nn.mup.build_mup_model`:
    base shapes from the same network at `mup_base_width`, default the family's standard width, and
    its delta at twice that), already drawn with μP's init (`init_model(model, "mup")` re-draws it).
    An architecture traced from a user's module (`arch.origin`) is that module, built afresh, whose
    output must be (batch, `classes`) on `input_shape` (the other sizes do not apply).
    Raise UserError on a size, activation or parametrization the family cannot take, on
    `mup_base_width` without `parametrization="mup"`, or on an architecture without an
    input→output path except a NAS-Bench-201 cell built whole (whose output is then constant, as in
    the benchmark).
    """
    if arch.origin is not None:  # a user's module (`family: torch`): its own sizes, standard parametrization
        if parametrization != "standard" or mup_base_width is not None:
            raise UserError(f"{arch.short}: a torch model trains in the standard parametrization only")
        from archscale.nn.traced import build_traced

        return build_traced(arch.origin, classes=classes, input_shape=input_shape)
    if parametrization not in get_args(Parametrization):
        known = ", ".join(get_args(Parametrization))
        raise UserError(f"unknown parametrization '{parametrization}'; known: {known}")
    sizes: dict[str, Any] = {
        "width": width,
        "cells": cells,
        "classes": classes,
        "input_shape": input_shape,
        "batch_norm": batch_norm,
        "prune_dead_edges": prune_dead_edges,
        "activation": activation,
    }
    if parametrization == "mup":
        from archscale.nn.mup import build_mup_model  # loads microsoft's mup only for μP models

        base_width = None if mup_base_width is None else positive("mup_base_width", mup_base_width)
        return build_mup_model(arch, base_width=base_width, **sizes)
    if mup_base_width is not None:
        raise UserError("mup_base_width is a setting of parametrization 'mup' only")
    return build_standard_model(arch, **sizes)
