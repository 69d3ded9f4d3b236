"""archscale's NAS-Bench-201 networks against the benchmark's own reference implementation.

The reference is xautodl 1.0.0's `TinyNetwork`, `InferCell` and cell operations (installed by
tests/run.sh with `--no-deps`; pinned in requirements.lock). Over random cells written in the
benchmark's own strings, at three sizes, with dead-node and no-path cells: equal parameter counts,
FLOPs equal to xautodl's `get_model_infos` (2 × (MFLOPs · 10⁶ − classes), see `archscale.nn.flops`),
and with the reference's weights copied in, the same logits in train and eval mode.
"""

from __future__ import annotations

import os
import random

import pytest
import torch
from torch import nn

from archscale.errors import UserError
from archscale.graph import parse_architecture
from archscale.nn import build_model, count_flops

try:
    from xautodl.models.cell_infers.tiny_network import TinyNetwork as ReferenceNetwork
    from xautodl.models.cell_searchs.genotypes import Structure
    from xautodl.utils.flop_benchmark import get_model_infos
except ImportError as exc:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but xautodl cannot be imported ({exc}); tests/run.sh installs it", pytrace=False)
    pytest.skip(
        f"NAS-Bench-201's reference implementation (xautodl) is not installed ({exc}); tests/run.sh installs it",
        allow_module_level=True,
    )

torch.set_num_threads(1)

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""NAS-Bench-201's op names."""

INPUT = (3, 8, 8)


def random_cell(rng: random.Random, p_none: float = 0.2) -> str:
    """A cell in the benchmark's string form: each edge `none` with probability `p_none`, else another
    op drawn uniformly (0.2: every op equally likely)."""

    def op() -> str:
        return OPS[0] if rng.random() < p_none else rng.choice(OPS[1:])

    return "+".join("|" + "|".join(f"{op()}~{j}" for j in range(node)) + "|" for node in (1, 2, 3))


SPECIAL = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # nothing built: output zeros
    "|none~0|+|skip_connect~0|none~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|",  # dead node 1 feeds a conv
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",  # no path; the output is a BN's β
    "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|none~2|",  # no path through node 2
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|",  # nodes 1, 2 reach no output
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    "+|none~0|nor_conv_3x3~1|none~2|nor_conv_3x3~3|",  # five nodes, node 3 reaches no output
    "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"
    "+|none~0|none~1|nor_conv_3x3~2|none~3|",  # five nodes, no path: BN constants flow through dead convs
]
_rng = random.Random(201)
CELLS = SPECIAL + [random_cell(_rng) for _ in range(200)] + [random_cell(_rng, p_none=0.6) for _ in range(50)]
RANDOM = CELLS[len(SPECIAL) :]
SIZES = [  # (C, N, classes, cells): the special cells and every random one, half of them, a fifth
    (8, 1, 10, CELLS),
    (4, 2, 120, SPECIAL + RANDOM[1::2]),
    (16, 5, 10, SPECIAL + RANDOM[::5]),
]


def reference(cell: str, channels: int, cells: int, classes: int) -> nn.Module:
    return ReferenceNetwork(channels, cells, Structure.str2structure(cell), classes)


def ours(cell: str, channels: int, cells: int, classes: int, **options: bool) -> nn.Module:
    return build_model(
        parse_architecture(cell), width=channels, cells=cells, classes=classes, input_shape=INPUT, **options
    )


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_the_sample_has_dead_node_and_no_path_cells():
    graphs = [parse_architecture(cell).graph for cell in CELLS]
    assert sum(not g.has_path() for g in graphs) >= 20
    assert sum(g.has_path() and bool(g.dead_nodes()) for g in graphs) >= 40


@pytest.mark.parametrize(("channels", "cells", "classes", "sample"), SIZES, ids=["C8-N1", "C4-N2-120", "C16-N5"])
def test_parameter_counts_and_flops_equal_the_reference(channels, cells, classes, sample):
    mismatches = []
    for cell in sample:
        ref, net = reference(cell, channels, cells, classes), ours(cell, channels, cells, classes)
        ref_mflops, _ = get_model_infos(ref, (1, *INPUT))
        expected = (n_params(ref), 2 * (round(ref_mflops * 1e6) - classes))
        got = (n_params(net), count_flops(net, INPUT))
        if got != expected:
            mismatches.append((cell, expected, got))
    assert not mismatches, (
        f"{len(mismatches)} of {len(sample)} cells differ, e.g. (cell, reference, ours): {mismatches[:3]}"
    )


def test_pruning_changes_exactly_the_cells_with_a_conv_off_every_path():
    changed = 0
    for cell in CELLS:
        graph = parse_architecture(cell).graph
        if not graph.has_path():
            with pytest.raises(UserError, match="no input→output path"):
                ours(cell, 8, 1, 10, prune_dead_edges=True)
            continue
        pruned = n_params(ours(cell, 8, 1, 10, prune_dead_edges=True))
        dead_conv = any(e.op.parameterised for e in set(graph.edges) - set(graph.live_edges()))
        assert (pruned != n_params(reference(cell, 8, 1, 10))) == dead_conv, cell
        changed += dead_conv
    assert changed >= 40


def _randomise(model: nn.Module, seed: int) -> None:
    """Draw every parameter and BatchNorm running statistic, so that every BN's β matters."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.5)


@pytest.mark.parametrize("cell", SPECIAL + RANDOM[:4])
def test_same_function_with_the_reference_weights(cell):
    ref, net = reference(cell, 4, 2, 10), ours(cell, 4, 2, 10)
    _randomise(ref, seed=len(cell))
    ref_state, our_keys = ref.state_dict(), list(net.state_dict())
    assert [t.shape for t in ref_state.values()] == [net.state_dict()[k].shape for k in our_keys]
    net.load_state_dict(dict(zip(our_keys, ref_state.values(), strict=True)))
    x = torch.randn(3, *INPUT, generator=torch.Generator().manual_seed(0))
    for train in (False, True):
        ref.train(train)
        net.train(train)
        with torch.no_grad():
            torch.testing.assert_close(net(x), ref(x)[1], rtol=1e-4, atol=1e-5)
