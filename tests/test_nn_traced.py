"""A user's nn.Module traced into the paper's graph: exact on the built-in families, clear on what the
theory does not cover."""

import random

import pytest
import torch

from archscale.errors import UserError
from archscale.graph import module_origin, parse_architecture
from archscale.nn import build_model, init_model
from archscale.nn import init as nn_init
from archscale.nn.traced import TracedModel, build_traced, trace_module, trace_origin
from archscale.principles import Convention, lr_scale
from plain_nets import PlainDag, live_edges

NAMED = [
    "2",
    "1",
    "2_02",
    "2_02_002",
    "2_02_002_0002",
    "2_22_222",
    "2_22_222_2222",
    "1_11_111_1112",
    "1_11_111_1111",
    "2_10_011_0001",
    "2_12_122_1222",
    "2_20_202_2020",
    "0_02_002_0002",
    "2_11_021_0012",
    "2_01_102_2101",
    "1_21_012_1002",
    "2_22_001_0002",
]


def _sample(count: int, nodes: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        dag = "_".join("".join(rng.choice("0122") for _ in range(k)) for k in range(1, nodes))
        if live_edges(dag) and dag not in out:
            out.append(dag)
    return out


DAGS = [d for d in NAMED if live_edges(d)] + _sample(12, 5, 0) + _sample(6, 6, 1)


def _feeds_from_unreachable(dag: str) -> bool:
    """Whether a live node counts an edge from a node the input never reaches: the built-in's in-degree
    counts it, but such an edge computes nothing, so a plain module cannot have it."""
    graph = parse_architecture(dag, "mlp").graph
    reached, live = graph.reachable_from_input(), graph.live_nodes()
    return any(e.dst in live and e.src not in reached for e in graph.edges)


def _stds(model, rule: str) -> dict[int, float]:
    """The std `init_model(..., "architecture-aware")` draws each weight with, by weight tensor id."""
    drawn: dict[int, float] = {}
    original = nn_init._normal_

    def record(weight, std):
        drawn[id(weight)] = std
        original(weight, std)

    nn_init._normal_ = record
    try:
        init_model(model, "architecture-aware", degree_rule=rule)
    finally:
        nn_init._normal_ = original
    return drawn


def _builtin_stds(dag: str, kind: str, rule: str) -> dict[str, float]:
    """The built-in model's stds by the plain module's layer names (stem, readout, blocks.e{j}_{k})."""
    shape = (1, 12) if kind == "mlp" else (1, 6, 6)
    model = build_model(parse_architecture(dag, kind, 3), width=8, classes=3, input_shape=shape)
    drawn = _stds(model, rule)
    layers = model.layer_map()
    names = {"stem": layers.stem, "readout": layers.readout}
    names |= {f"blocks.e{j}_{k}": layer for (j, k), layer in layers.cells[0].edges.items()}
    return {name: drawn[id(layer.weight)] for name, layer in names.items()}


def _traced(dag: str, kind: str, identity_skips: bool = True) -> TracedModel:
    args = {"dag": dag, "kind": kind, "identity_skips": identity_skips}
    if kind == "cnn":
        args["inputs"] = [1, 6, 6]
    return build_traced(
        module_origin("plain_nets:dag_net", args), classes=3, input_shape=(1, 12) if kind == "mlp" else (1, 6, 6)
    )


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_a_plain_module_dag_gives_exactly_the_digit_strings_s_lr_and_init(kind):
    assert len(DAGS) >= 30
    checked = 0
    for dag in DAGS:
        builtin = parse_architecture(dag, kind, 3)
        for identity_skips in (True, False):
            model = _traced(dag, kind, identity_skips)
            assert model.arch.family.value == kind and model.arch.kernel_size == builtin.kernel_size
            for convention in Convention:
                ours, theirs = lr_scale(model.arch, convention), lr_scale(builtin, convention)
                assert ours.stats == theirs.stats, (dag, convention)
                assert ours.lr_factor == theirs.lr_factor and ours.lr(0.1) == theirs.lr(0.1)
        if _feeds_from_unreachable(dag):
            continue
        checked += 1
        for rule in ("source", "target"):
            drawn = _stds(model := _traced(dag, kind), rule)
            ours = {
                name: drawn[id(module.weight)]
                for name, module in model.net.named_modules()
                if hasattr(module, "weight")
            }
            assert ours == _builtin_stds(dag, kind, rule), (dag, rule)
    assert checked >= 20


def test_skip_edges_from_reused_tensors_and_parallel_edges():
    traced = trace_origin(module_origin("plain_nets:skip_mlp", {"blocks": 2}))
    assert traced.stem == "stem" and traced.readout == "head"
    assert sorted(traced.edges.values()) == ["hidden.0", "hidden.1"]
    # h + relu(L(h)) twice: two paths per block, depths 0 and 1 between stem and readout
    scale = lr_scale(traced.arch, Convention.OFFICIAL)
    assert scale.stats.paths == 4 and scale.stats.S == 3**3 + 2 * 4**3 + 5**3
    degrees = traced.arch.graph.in_degrees()
    sources = sorted(degrees[src] for src, _ in traced.edges)
    assert sources == [1, 2]  # the second block reads the first block's sum


def test_a_cnn_with_pooling_batch_norm_and_a_projection_shortcut():
    class Res(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(8)
            self.a = torch.nn.Conv2d(8, 16, 5, padding=2, stride=2)
            self.b = torch.nn.Conv2d(16, 16, 3, padding=1)
            self.short = torch.nn.Conv2d(8, 16, 1, stride=2)
            self.pool = torch.nn.AdaptiveAvgPool2d(1)
            self.fc = torch.nn.Linear(16, 10)

        def forward(self, x):
            h = torch.relu(self.bn(self.stem(x)))
            h = torch.nn.functional.max_pool2d(h, 1)
            out = torch.relu(self.b(torch.relu(self.a(h))) + self.short(h))
            return self.fc(torch.flatten(self.pool(out), 1))

    traced = trace_module(Res(), module_origin("x:res"))
    assert traced.arch.family.value == "cnn" and traced.arch.kernel_size == 5
    scale = lr_scale(traced.arch, Convention.OFFICIAL)
    assert scale.stats.paths == 2 and scale.stats.S == 5**3 + 4**3
    assert scale.kernel_factor == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            "plain_nets:gated",
            "unsupported op mul of two tensors (gating or attention) at node 'mul' (at plain_nets.py:",
        ),
        ("plain_nets:concat", "unsupported op cat (concatenation) at node 'cat'"),
        ("plain_nets:data_dependent", "torch.fx cannot trace data_dependent(): symbolically traced variables"),
        ("plain_nets:not_a_module", "returned a int, not a torch nn.Module"),
        ("plain_nets:nothing", "module 'plain_nets' has no attribute 'nothing'"),
        ("no_such_package.nets:resnet", "cannot import 'no_such_package.nets'"),
        ("plain_nets", "must read package.module:callable"),
    ],
)
def test_what_the_theory_does_not_cover_is_a_one_line_user_error(factory, message):
    with pytest.raises(UserError, match=None) as error:
        trace_origin(module_origin(factory))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_unsupported_ignore_treats_the_op_as_depth_neutral_and_says_so():
    traced = trace_origin(module_origin("plain_nets:gated", unsupported="ignore"))
    assert [i.split(" (at ")[0] for i in traced.ignored] == ["mul of two tensors (gating or attention) at node 'mul'"]
    assert traced.ignored[0].endswith("(at plain_nets.py:114)")
    scale = lr_scale(traced.arch, Convention.OFFICIAL)
    assert scale.stats.paths == 2 and scale.stats.S == 2 * 4**3  # a(h) and b(h) joined as a sum
    assert traced.arch.origin is not None and traced.arch.origin.unsupported == "ignore"
    concat = trace_origin(module_origin("plain_nets:concat", unsupported="ignore"))
    assert lr_scale(concat.arch, Convention.OFFICIAL).stats.S == 3**3 + 4**3


def test_the_init_applies_to_the_users_module_in_place_and_the_output_shape_is_checked():
    model = build_traced(
        module_origin("plain_nets:skip_mlp", {"blocks": 1, "width": 64}), classes=10, input_shape=(40,)
    )
    init_model(model, "architecture-aware")
    assert torch.all(model.net.head.bias == 0)
    assert model.net.hidden[0].weight.std().item() == pytest.approx((2 / 64) ** 0.5, rel=0.1)
    with pytest.raises(UserError, match=r"to \[2, 10\]; expected logits of shape \[2, 3\]"):
        build_traced(module_origin("plain_nets:skip_mlp"), classes=3, input_shape=(40,))
    with pytest.raises(UserError, match="fails on input shape"):
        build_traced(module_origin("plain_nets:skip_mlp"), classes=10, input_shape=(7,))


def test_architecture_identity_includes_the_module_and_its_args():
    a = trace_origin(module_origin("plain_nets:skip_mlp", {"blocks": 1})).arch
    b = trace_origin(module_origin("plain_nets:skip_mlp", {"blocks": 1, "width": 32})).arch
    assert a.graph == b.graph and a.digest() != b.digest()
    assert a.short == "skip_mlp(blocks=1)"
    assert isinstance(PlainDag("2"), torch.nn.Module)


def test_a_seeded_build_draws_the_same_weights_whether_or_not_it_was_traced_before():
    origin = module_origin("plain_nets:skip_mlp", {"blocks": 1, "width": 12})
    trace_origin.cache_clear()
    torch.manual_seed(3)
    first = build_traced(origin).net.stem.weight.clone()
    torch.manual_seed(3)
    assert torch.equal(build_traced(origin).net.stem.weight, first)
