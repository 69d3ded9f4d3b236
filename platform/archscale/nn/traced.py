"""A user's `nn.Module` reduced to the paper's graph by `torch.fx` (`model: {family: torch}`).

The module is traced symbolically (no data flows) and read as the paper reads a network:

- a weight layer (an `nn.Linear`, `nn.Conv1d/2d/3d` module) is a parameterised edge; a convolution's
  kernel size is its largest side, and the network's largest sets the CNN kernel factor;
- a sum (`+`, `-`, `torch.add`, `sum(...)` of tensors) is a node that sums its inputs; a tensor read
  in more than one place, or passed through `nn.Identity`, is a node of its own (a skip edge leads
  from it to each sum that reads it); a sum read only by another sum is part of that sum;
- ReLU-family activations and GELU, BatchNorm/LayerNorm/GroupNorm/InstanceNorm, pooling, dropout,
  flatten, reshape/view, slicing and scaling by a constant or a parameter are depth-neutral.

Stem and readout: every input→output path must start with one weight layer (the stem) and end with
one `nn.Linear` (the readout), as the paper's networks do. The graph between them is the family's
DAG (node 0 the stem's output, the last node the readout's input), with family `cnn` when the network
has a convolution and `mlp` otherwise, so S, the LR and the init follow that family's rules exactly:
a DAG-MLP or DAG-CNN written as a plain module gives its digit string's numbers.

Any other op (concatenation, a product of two tensors as in gating or attention, other modules and
functions, a layer called twice) is unsupported: a UserError naming the op and its node, or with
`unsupported="ignore"` a depth-neutral op (joining several tensor inputs as a sum would), listed in
`Traced.ignored`. Control flow that depends on data cannot be traced at all (a UserError either way).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, fx, nn

from archscale.errors import UserError
from archscale.graph import Architecture, Edge, Family, Graph, ModuleOrigin, Op
from archscale.graph.ops import LINEAR, SKIP, conv
from archscale.nn.model import WEIGHT_LAYERS, ArchModel, CellLayers, LayerMap, WeightLayer

NEUTRAL_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.RReLU,
    nn.ELU,
    nn.CELU,
    nn.SELU,
    nn.GELU,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Flatten,
    nn.Unflatten,
    nn.LogSoftmax,
)
"""Leaf modules that leave every path's depth as it is."""

_NEUTRAL_NAMES = frozenset(
    {
        *("relu", "relu_", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "celu", "selu", "gelu"),
        *("batch_norm", "layer_norm", "group_norm", "instance_norm"),
        *(f"{kind}_pool{d}d" for kind in ("max", "avg", "adaptive_avg", "adaptive_max") for d in (1, 2, 3)),
        *("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"),
        *("flatten", "reshape", "view", "view_as", "squeeze", "unsqueeze", "transpose", "permute", "contiguous"),
        *("mean", "neg", "pos", "log_softmax", "clone", "detach", "float", "to", "type", "getitem"),
    }
)
"""Functions and tensor methods (by name) that leave every path's depth as it is."""

_SUM_NAMES = frozenset({"add", "sub", "add_", "sub_", "iadd", "isub"})
_PRODUCT_NAMES = frozenset({"mul", "mul_", "truediv", "div", "div_", "matmul", "mm", "bmm", "einsum", "imul"})
_JOIN_NAMES = frozenset({"cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack"})
_FUNCTIONAL_LAYERS = frozenset({"linear", "conv1d", "conv2d", "conv3d", "bilinear"})
_SIZE_METHODS = frozenset({"size", "dim", "numel", "ndimension"})
_SIZE_ATTRIBUTES = frozenset({"shape", "dtype", "device", "ndim", "is_cuda"})


@dataclass(frozen=True)
class Traced:
    """What tracing found: the architecture (the DAG between stem and readout, with `origin`), the
    qualified names of the stem, the readout and each DAG edge's weight layer, the unsupported ops
    that `unsupported="ignore"` treated as depth-neutral, and the module's weight layers that are on
    no edge (a dead branch, or inside an ignored module; no init scheme of the paper draws them)."""

    arch: Architecture
    stem: str
    readout: str
    edges: Mapping[tuple[int, int], str]
    ignored: tuple[str, ...]
    outside: tuple[str, ...]


def load_factory(factory: str) -> Callable[..., Any]:
    """Import `package.module:callable`, with the current directory importable (as for `python -m`)."""
    module_name, _, attr = factory.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise UserError(f"cannot import '{module_name}' for factory '{factory}': {_one_line(exc)}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise UserError(f"factory '{factory}': module '{module_name}' has no attribute '{attr}'")
        target = getattr(target, part)
    if not callable(target):
        raise UserError(f"factory '{factory}' is not callable")
    return target


def _one_line(exc: BaseException) -> str:
    """`Type: message`, the message's first line only (a user error is one line)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def build_module(origin: ModuleOrigin) -> nn.Module:
    """Call the origin's factory with its args; UserError when it fails or returns no `nn.Module`."""
    make = load_factory(origin.factory)
    args = json.loads(origin.args)
    try:
        module = make(**args)
    except Exception as exc:
        raise UserError(f"factory '{origin.factory}' failed with args {origin.args}: {_one_line(exc)}") from None
    if not isinstance(module, nn.Module):
        raise UserError(f"factory '{origin.factory}' returned a {type(module).__name__}, not a torch nn.Module")
    return module


@cache
def trace_origin(origin: ModuleOrigin) -> Traced:
    """`trace_module` of a fresh module from `origin` (cached: the same origin traces once per process)."""
    return trace_module(build_module(origin), origin)


def traced_architecture(origin: ModuleOrigin) -> Architecture:
    """The architecture traced from `origin`'s module (`trace_origin(origin).arch`): the tracer of
    `archscale.study.architectures.expand_architectures`."""
    return trace_origin(origin).arch


def trace_module(module: nn.Module, origin: ModuleOrigin) -> Traced:
    """Trace `module` (built from `origin`) into the paper's graph; raise UserError when fx cannot
    trace it, on an unsupported op (unless `origin.unsupported == "ignore"`), or when it has no
    single stem or readout."""
    graph = _symbolic_trace(module, origin.name)
    reader = _Reader(module, origin)
    reader.read(graph)
    return reader.result()


def _symbolic_trace(module: nn.Module, name: str) -> fx.Graph:
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        return tracer.trace(module)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"torch.fx cannot trace {name}: {message}{_where_in(exc.__traceback__)}") from None


def _where_in(tb: Any) -> str:
    """` (at file.py:LINE)` for the innermost frame outside torch, '' without one."""
    torch_dir = str(Path(torch.__file__).parent)
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(torch_dir)]
    frames = [f for f in frames if "/archscale/" not in f.filename]
    return f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""


def _where(node: fx.Node) -> str:
    """` (at file.py:LINE)` of the user's code that made `node`, from fx's recorded stack trace."""
    torch_dir = str(Path(torch.__file__).parent)
    for line in reversed((node.stack_trace or "").splitlines()):
        parts = line.strip().split('"')
        if line.strip().startswith("File ") and len(parts) > 2 and not parts[1].startswith(torch_dir):
            return f" (at {Path(parts[1]).name}:{parts[2].split('line ')[-1].split(',')[0]})"
    return ""


def _op_name(node: fx.Node) -> str:
    target = node.target
    if node.op == "call_method":
        return str(target)
    return str(getattr(target, "__name__", target))


Term = tuple[int, str]
"""An edge waiting for its target node: (source node, layer call's fx name, or '' for a skip)."""


@dataclass(frozen=True)
class _Value:
    """A traced tensor: a materialised node, or a sum of pending edges (`terms`, sorted, repeats kept)."""

    node: int | None = None
    terms: tuple[Term, ...] = ()


class _Reader:
    """Reads an fx graph in two passes: what each fx node is (and how often each value is read),
    then the DAG of weight-layer and skip edges between sum nodes."""

    def __init__(self, module: nn.Module, origin: ModuleOrigin) -> None:
        self.module = module
        self.origin = origin
        self.kinds: dict[fx.Node, str] = {}
        self.roots: dict[fx.Node, fx.Node] = {}
        self.reads: dict[fx.Node, int] = {}
        self.ignored: list[str] = []
        self.values: dict[fx.Node, _Value] = {}
        self.nodes = 0
        self.edges: list[tuple[int, int, str]] = []
        self.memo: dict[tuple[Term, ...], int] = {}
        self.layers: dict[str, tuple[str, WeightLayer]] = {}
        self.called: set[str] = set()
        self.output: int | None = None

    def _data(self, node: fx.Node) -> list[fx.Node]:
        """The node's operands that carry data from the input, in order, repeats kept (`x + x` reads x twice)."""
        found: list[fx.Node] = []
        fx.node.map_arg((node.args, node.kwargs), lambda arg: found.append(arg) or arg)
        return [arg for arg in found if self.kinds.get(arg) != "const"]

    # pass 1: what each node is
    def classify(self, node: fx.Node) -> str:
        """input, const (no tensor derived from the input), layer, skip, sum, neutral, output or
        unsupported:<what>."""
        data = self._data(node)
        if node.op == "placeholder":
            return "input" if not any(k == "input" for k in self.kinds.values()) else "const"
        if node.op == "output":
            return "output"
        if node.op == "get_attr" or not data:
            return "const"
        name = _op_name(node)
        if node.op == "call_module":
            layer = self.module.get_submodule(str(node.target))
            if isinstance(layer, WEIGHT_LAYERS):
                return "layer"
            if isinstance(layer, nn.Identity):
                return "skip"
            if isinstance(layer, NEUTRAL_MODULES):
                return "neutral"
            return f"unsupported:{type(layer).__name__} module '{node.target}'"
        if node.op == "call_method" and name in _SIZE_METHODS:
            return "const"
        if name == "getattr" and len(node.args) > 1 and node.args[1] in _SIZE_ATTRIBUTES:
            return "const"
        if name in _SUM_NAMES:
            return "sum" if len(data) > 1 else "neutral"
        if name in _PRODUCT_NAMES:
            return f"unsupported:{name} of two tensors (gating or attention)" if len(data) > 1 else "neutral"
        if name in _JOIN_NAMES:
            return f"unsupported:{name} (concatenation)"
        if name in _FUNCTIONAL_LAYERS:
            return f"unsupported:functional {name} (write it as an nn module so its weight can be found)"
        if name in _NEUTRAL_NAMES:
            return "neutral" if len(data) == 1 else f"unsupported:{name} of several tensors"
        return f"unsupported:{name}"

    def read(self, graph: fx.Graph) -> None:
        for node in graph.nodes:
            kind = self.classify(node)
            if kind.startswith("unsupported:"):
                what = f"{kind.removeprefix('unsupported:')} at node '{node.name}'{_where(node)}"
                if self.origin.unsupported != "ignore":
                    raise UserError(
                        f"{self.origin.name}: unsupported op {what}; the paper's theory covers weight layers, sums "
                        "and ReLU-like activations (set the model's unsupported: ignore to treat it as depth-neutral)"
                    )
                self.ignored.append(what)
                kind = "neutral" if len(self._data(node)) == 1 else "sum"
            self.kinds[node] = kind
            operands = self._data(node)
            self.roots[node] = self.roots[operands[0]] if kind == "neutral" else node
            if kind in ("layer", "skip", "sum", "output"):
                for operand in operands:
                    root = self.roots[operand]
                    self.reads[root] = self.reads.get(root, 0) + 1
        for node in graph.nodes:
            self.build(node)

    # pass 2: the DAG
    def build(self, node: fx.Node) -> None:
        kind = self.kinds[node]
        if kind == "const":
            return
        operands = self._data(node)
        if kind == "input":
            self.values[node] = _Value(node=self._new_node())
        elif kind == "neutral":
            self.values[node] = self.values[operands[0]]
        elif kind == "layer":
            self._layer(node, operands[0])
        elif kind == "skip":
            self.values[node] = _Value(terms=((self._node_of(self.values[operands[0]]), ""),))
        elif kind == "sum":
            terms = [term for operand in operands for term in self._summand(operand)]
            self.values[node] = _Value(terms=tuple(sorted(terms)))
        else:  # output
            if len(operands) != 1:
                raise UserError(f"{self.origin.name} must return one tensor (the logits), not {len(operands)}")
            self.output = self._node_of(self.values[operands[0]])

    def _layer(self, node: fx.Node, operand: fx.Node) -> None:
        target = str(node.target)
        if target in self.called:
            what = f"layer '{target}' called again at node '{node.name}'{_where(node)} (shared weights)"
            if self.origin.unsupported != "ignore":
                raise UserError(
                    f"{self.origin.name}: unsupported op {what}; the paper's theory has one weight per edge "
                    "(set the model's unsupported: ignore to count each call as an edge)"
                )
            self.ignored.append(what)
        self.called.add(target)
        layer = self.module.get_submodule(target)
        assert isinstance(layer, WEIGHT_LAYERS)
        self.layers[node.name] = (target, layer)
        self.values[node] = _Value(terms=((self._node_of(self.values[operand]), node.name),))

    def _summand(self, operand: fx.Node) -> tuple[Term, ...]:
        """The terms an operand adds to a sum: a node enters by a skip; a value read only here
        (a partial sum, a layer's output) brings its own terms."""
        value = self.values[operand]
        if value.node is not None:
            return ((value.node, ""),)
        if self.reads[self.roots[operand]] == 1:
            return value.terms
        return ((self._node_of(value), ""),)

    def _node_of(self, value: _Value) -> int:
        """The node of a value: its own, or a new node summing its terms (the same terms, the same node).
        A second edge between the same two nodes goes through a node of its own (a skip after it), so
        that no pair of nodes has two edges."""
        if value.node is not None:
            return value.node
        if value.terms in self.memo:
            return self.memo[value.terms]
        direct: dict[int, Term] = {}
        detours: list[Term] = []
        for term in sorted(value.terms, key=lambda t: (t[0], t[1] == "", t[1])):  # a layer before a skip
            if term[0] in direct:
                detours.append(term)
            else:
                direct[term[0]] = term
        edges: list[tuple[int, str]] = []
        for src, token in detours:
            middle = self._new_node()
            self.edges.append((src, middle, token))
            edges.append((middle, ""))
        target = self._new_node()
        for src, token in [*direct.values(), *edges]:
            self.edges.append((src, target, token))
        self.memo[value.terms] = target
        return target

    def _new_node(self) -> int:
        self.nodes += 1
        return self.nodes - 1

    def _op(self, token: str) -> Op:
        if not token:
            return SKIP
        layer = self.layers[token][1]
        if isinstance(layer, nn.Linear):
            return LINEAR
        return conv(max(layer.kernel_size))

    def result(self) -> Traced:
        """The DAG between stem and readout, as an Architecture with the layers behind its edges."""
        assert self.output is not None
        out = self.output
        full = Graph.build(out + 1, [Edge(s, d, self._op(t)) for s, d, t in self.edges if d <= out])
        name = self.origin.name
        if not full.has_path():
            raise UserError(f"{name}: the output does not depend on the input")
        live = full.live_edges()
        tokens = {(s, d): t for s, d, t in self.edges}
        first = [e for e in live if e.src == 0]
        last = [e for e in live if e.dst == out]
        if len(first) != 1 or not first[0].op.parameterised:
            raise UserError(
                f"{name}: every input→output path must start with the same weight layer (the stem), as in the "
                f"paper's networks; the input goes on along {len(first)} edge(s): {self._describe(first, tokens)}"
            )
        if len(last) != 1 or not isinstance(self.layers.get(tokens[(last[0].src, out)], ("", None))[1], nn.Linear):
            raise UserError(
                f"{name}: every input→output path must end with the same nn.Linear (the readout), as in the "
                f"paper's networks; the output comes from {len(last)} edge(s): {self._describe(last, tokens)}"
            )
        stem, readout = first[0], last[0]
        if stem.dst > readout.src:
            raise UserError(f"{name}: the stem and the readout must be two different weight layers")
        lo, hi = stem.dst, readout.src
        inner_edges = [Edge(e.src - lo, e.dst - lo, e.op) for e in full.edges if lo <= e.src and e.dst <= hi]
        # stem straight into readout: the family's base network, one skip edge (DAG string "1")
        inner = Graph.build(hi - lo + 1, inner_edges) if hi > lo else Graph.build(2, [Edge(0, 1, SKIP)])
        used = {tokens[(e.src, e.dst)] for e in full.live_edges() if e.op.parameterised}
        convs = [
            layer for token, (_, layer) in self.layers.items() if token in used and not isinstance(layer, nn.Linear)
        ]
        family = Family.CNN if convs else Family.MLP
        kernel = max(max(layer.kernel_size) for layer in convs) if convs else None
        edges = {
            (e.src - lo, e.dst - lo): self.layers[tokens[(e.src, e.dst)]][0]
            for e in full.edges
            if e.op.parameterised and lo <= e.src and e.dst <= hi
        }
        in_graph = {target for target, _ in self.layers.values()}
        outside = tuple(n for n, m in self.module.named_modules() if isinstance(m, WEIGHT_LAYERS) and n not in in_graph)
        return Traced(
            Architecture(inner, family, kernel, origin=self.origin),
            self.layers[tokens[(stem.src, stem.dst)]][0],
            self.layers[tokens[(readout.src, readout.dst)]][0],
            edges,
            tuple(self.ignored),
            outside,
        )

    def _describe(self, edges: list[Edge], tokens: Mapping[tuple[int, int], str]) -> str:
        names = [self.layers[t][0] if (t := tokens[(e.src, e.dst)]) else "an identity path" for e in edges]
        return ", ".join(names) or "none"


class TracedModel(ArchModel):
    """A user's module with the architecture traced from it: `forward` is the module's own, and the
    `layer_map` names its stem, readout and DAG-edge layers, so that every init scheme applies to the
    user's module in place."""

    def __init__(self, net: nn.Module, traced: Traced) -> None:
        super().__init__(traced.arch)
        self.net = net
        self.traced = traced

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.net(x)
        return out

    def layer_map(self) -> LayerMap:
        layer = self.net.get_submodule
        readout = layer(self.traced.readout)
        assert isinstance(readout, nn.Linear)
        edges = {edge: _weight(layer(name)) for edge, name in self.traced.edges.items()}
        return LayerMap(
            stem=_weight(layer(self.traced.stem)), cells=(CellLayers(self.arch.graph, edges),), readout=readout
        )


def _weight(module: nn.Module) -> WeightLayer:
    assert isinstance(module, WEIGHT_LAYERS)
    return module


def build_traced(
    origin: ModuleOrigin, *, classes: int | None = None, input_shape: tuple[int, ...] | None = None
) -> TracedModel:
    """A fresh module from `origin` (torch's default init, drawn from the global RNG: the same draws
    whether or not this process traced `origin` before) with its traced architecture. With
    `input_shape`, one zero batch checks that the output is (batch, `classes`) logits; UserError
    otherwise."""
    net = build_module(origin)
    with torch.random.fork_rng(devices=[]):
        traced = trace_origin(origin)
    model = TracedModel(net, traced)
    if input_shape is not None:
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                out = model(torch.zeros((2, *input_shape)))
        except Exception as exc:
            raise UserError(f"{origin.name} fails on input shape {list(input_shape)}: {_one_line(exc)}") from None
        finally:
            model.train(was_training)
        expected = (2, classes) if classes is not None else (2, *out.shape[1:])
        if not isinstance(out, Tensor) or out.dim() != 2 or tuple(out.shape) != expected:
            got = list(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise UserError(
                f"{origin.name} maps a batch of shape [2, {', '.join(map(str, input_shape))}] to {got}; "
                f"expected logits of shape [2, {classes if classes is not None else 'classes'}]"
            )
    return model
