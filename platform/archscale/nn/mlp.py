"""DAG-MLP: Linear(inputs→width)+act stem on the flattened sample, Linear+act edges, Linear readout
(act = ReLU, or GELU for paper App. E.2)."""

from __future__ import annotations

import math

from torch import nn

from archscale.graph import Architecture, Family, OpKind
from archscale.nn.blocks import ACTIVATIONS, ParamBlock
from archscale.nn.dag import DagNet, op_builder
from archscale.nn.registry import ModelSpec, register_model


@register_model(Family.MLP, default_width=128, default_input_shape=(1, 40), activations=tuple(ACTIVATIONS))
def dag_mlp(arch: Architecture, spec: ModelSpec) -> DagNet:
    """The authors' MLP (`models/mlp_dags.py`): every Linear has a bias; BatchNorm1d is optional;
    the stem and every edge use `spec.activation`."""
    width, act = spec.width, spec.activation
    make_op = op_builder(
        {
            OpKind.SKIP: lambda _: nn.Identity(),
            OpKind.LINEAR: lambda _: ParamBlock(nn.Linear(width, width), 0, spec.batch_norm, act),
        },
        "DAG-MLP",
    )
    stem = ParamBlock(nn.Linear(math.prod(spec.input_shape), width), 0, spec.batch_norm, act)
    return DagNet(arch, stem, make_op, nn.Identity(), nn.Linear(width, spec.classes), flatten_input=True)
