"""DAG-MLP: Linear(inputs→width)+ReLU stem on the flattened sample, Linear+ReLU edges, Linear readout."""

from __future__ import annotations

import math

from torch import nn

from archscale.graph import Architecture, Family, OpKind
from archscale.nn.blocks import ParamBlock
from archscale.nn.dag import DagNet, op_builder
from archscale.nn.registry import ModelSpec, register_model


@register_model(Family.MLP, default_width=128, default_input_shape=(1, 40))
def dag_mlp(arch: Architecture, spec: ModelSpec) -> DagNet:
    """The authors' MLP (`models/mlp_dags.py`): every Linear has a bias; BatchNorm1d is optional."""
    width = spec.width
    make_op = op_builder(
        {
            OpKind.SKIP: lambda _: nn.Identity(),
            OpKind.LINEAR: lambda _: ParamBlock(nn.Linear(width, width), 0, spec.batch_norm),
        },
        "DAG-MLP",
    )
    stem = ParamBlock(nn.Linear(math.prod(spec.input_shape), width), 0, spec.batch_norm)
    return DagNet(arch, stem, make_op, nn.Identity(), nn.Linear(width, spec.classes), flatten_input=True)
