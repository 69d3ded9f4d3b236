"""Plain torch networks for the traced-model tests (factories for `model: {family: torch}`).

`dag_net` writes the authors' DAG-MLP / DAG-CNN for a digit string as a plain `nn.Module` — only
torch's own layers, additions in `forward`, no archscale class — so that tracing it must give the
digit string's S, LR and init exactly.
"""

from __future__ import annotations

import functools
import math
import operator

import torch
from torch import Tensor, nn


def live_edges(dag: str) -> list[tuple[int, int, int]]:
    """(src, dst, digit) of the non-zero edges on an input→output path, sorted by (dst, src)."""
    groups = dag.split("_")
    last = len(groups)
    edges = [(j, k, int(d)) for k, group in enumerate(groups, 1) for j, d in enumerate(group) if d != "0"]
    reached = {0}
    for j, k, _ in edges:
        if j in reached:
            reached.add(k)
    reaching = {last}
    for j, k, _ in sorted(edges, key=lambda e: -e[0]):
        if k in reaching:
            reaching.add(j)
    return [(j, k, d) for j, k, d in edges if j in reached & reaching and k in reached & reaching]


class PlainDag(nn.Module):
    """stem → DAG → (global average pool) → readout, as in the authors' code; skips are `nn.Identity`
    (`identity_skips`) or the node's tensor itself."""

    def __init__(
        self,
        dag: str,
        kind: str = "mlp",
        width: int = 8,
        inputs: tuple[int, ...] = (1, 12),
        classes: int = 3,
        kernel: int = 3,
        identity_skips: bool = True,
    ) -> None:
        super().__init__()
        self.kind, self.nodes, self.identity_skips = kind, len(dag.split("_")) + 1, identity_skips
        self.edges = live_edges(dag)
        if kind == "mlp":
            self.stem: nn.Module = nn.Linear(math.prod(inputs), width)
        else:
            self.stem = nn.Conv2d(inputs[0], width, kernel, padding=kernel // 2)

        def block() -> nn.Module:
            return nn.Linear(width, width) if kind == "mlp" else nn.Conv2d(width, width, kernel, padding=kernel // 2)

        self.blocks = nn.ModuleDict({f"e{j}_{k}": block() for j, k, d in self.edges if d == 2})
        self.skips = nn.ModuleDict({f"s{j}_{k}": nn.Identity() for j, k, d in self.edges if d == 1})
        self.readout = nn.Linear(width, classes)

    def forward(self, x: Tensor) -> Tensor:
        nodes: list[Tensor | None] = [torch.relu(self.stem(x.flatten(1) if self.kind == "mlp" else x))]
        for k in range(1, self.nodes):
            terms = []
            for j, dst, digit in self.edges:
                source = nodes[j] if dst == k else None
                if source is None:
                    continue
                if digit == 2:
                    terms.append(torch.relu(self.blocks[f"e{j}_{k}"](source)))
                else:
                    terms.append(self.skips[f"s{j}_{k}"](source) if self.identity_skips else source)
            nodes.append(functools.reduce(operator.add, terms) if terms else None)
        out = nodes[-1]
        assert out is not None
        return self.readout(out.mean((2, 3)) if self.kind == "cnn" else out)


def dag_net(dag: str, kind: str = "mlp", **options: object) -> PlainDag:
    return PlainDag(dag, kind, **options)  # type: ignore[arg-type]


class SkipMlp(nn.Module):
    """A small MLP with residual blocks: `blocks` of Linear+ReLU, each added to its input."""

    def __init__(self, blocks: int = 1, width: int = 16, inputs: int = 40, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Linear(inputs, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.head = nn.Linear(width, classes)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.stem(x.flatten(1)))
        for layer in self.hidden:
            h = h + torch.relu(layer(h))
        return self.head(h)


def skip_mlp(blocks: int = 1, width: int = 16, inputs: int = 40, classes: int = 10) -> SkipMlp:
    return SkipMlp(blocks, width, inputs, classes)


class Gated(nn.Module):
    """A gated unit: the product of two branches (not covered by the theory)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.a, self.b, self.head = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.stem(x))
        return self.head(self.a(h) * torch.relu(self.b(h)))


class Concat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.a, self.head = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(16, 2)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.stem(x))
        return self.head(torch.cat([h, torch.relu(self.a(h))], dim=1))


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem, self.head = nn.Linear(4, 8), nn.Linear(8, 2)

    def forward(self, x: Tensor) -> Tensor:
        h = self.stem(x)
        if h.sum() > 0:
            h = torch.relu(h)
        return self.head(h)


def gated(**_: object) -> Gated:
    """A gated network (whatever sizes a study passes)."""
    return Gated()


def concat() -> Concat:
    return Concat()


def data_dependent() -> DataDependent:
    return DataDependent()


def not_a_module() -> int:
    return 3
