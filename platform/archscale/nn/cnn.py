"""DAG-CNN: Conv+act stem, Conv+act / avg-pool / skip edges, global average pool, Linear readout
(act = ReLU, or GELU for paper App. E.2).

Works on sequences (input (C, L): Conv1d) and images ((C, H, W): Conv2d); all convolutions and
pools have stride 1 and 'same' padding, so every node keeps the input's spatial size.
"""

from __future__ import annotations

from torch import nn

from archscale.errors import UserError
from archscale.graph import Architecture, Family, OpKind
from archscale.nn.blocks import ACTIVATIONS, GLOBAL_POOL, ParamBlock, avg_pool, conv, kernel_of
from archscale.nn.dag import DagNet, op_builder
from archscale.nn.registry import ModelSpec, register_model

DEFAULT_KERNEL = 3


@register_model(Family.CNN, default_width=32, default_input_shape=(1, 40), activations=tuple(ACTIVATIONS))
def dag_cnn(arch: Architecture, spec: ModelSpec) -> DagNet:
    """The authors' CNN (`models/cnn_dags.py`); the stem's kernel is `arch.kernel_size`, each edge's
    its op's kernel. Every conv has a bias; BatchNorm is optional; the stem and every conv edge use
    `spec.activation`."""
    if len(spec.input_shape) not in (2, 3):
        raise UserError(f"a CNN needs input shape (C, L) or (C, H, W), got {spec.input_shape}")
    dims = len(spec.input_shape) - 1
    width, act = spec.width, spec.activation

    make_op = op_builder(
        {
            OpKind.SKIP: lambda _: nn.Identity(),
            OpKind.CONV: lambda op: ParamBlock(conv(dims, width, width, kernel_of(op)), dims, spec.batch_norm, act),
            OpKind.AVG_POOL: lambda op: avg_pool(dims, kernel_of(op)),
        },
        "DAG-CNN",
    )
    kernel = arch.kernel_size or DEFAULT_KERNEL
    stem = ParamBlock(conv(dims, spec.input_shape[0], width, kernel), dims, spec.batch_norm, act)
    return DagNet(arch, stem, make_op, GLOBAL_POOL[dims](1), nn.Linear(width, spec.classes), flatten_input=False)
