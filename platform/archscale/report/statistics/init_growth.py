"""The init's claim (paper eqs. 3/4): under the architecture-aware init the forward signal stays Θ(1)
across depth and topology (statistics stage). Measured with the coordinate check of `archscale check`:
the RMS growth from the first node to the output at initialisation, on complete DAGs of 1 … 7
parameterised nodes (every edge a linear layer: the densest topology of each size; the 1-node DAG is a
chain) at width 256, 128 Gaussian inputs, 3 seeds; the statistic is the slope of log2 growth per node
(0: Θ(1); He's init gives the no-effect value), a t interval over the (nodes, seed) points.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archscale.report.statistics import stats
from archscale.report.statistics.stats import Estimate

NODES = tuple(range(1, 8))
WIDTH, BATCH, SEEDS = 256, 128, (0, 1, 2)
SCHEME, NULL_SCHEME = "architecture-aware", "kaiming"


def complete_dag(nodes: int) -> str:
    """The digit string of the complete DAG with `nodes` parameterised nodes ("2", "2_22", "2_22_222", ...)."""
    return "_".join("2" * i for i in range(1, nodes + 1))


def growth_slope(scheme: str) -> tuple[stats.Slope, dict[int, float]]:
    """(slope of log2 RMS growth on the node count, the mean growth per node count) under `scheme`."""
    from archscale.graph import parse_architecture
    from archscale.nn.coord_check import coordinate_check

    xs, ys, means = [], [], {}
    for nodes in NODES:
        arch = parse_architecture(complete_dag(nodes), "mlp", 3)
        growths = [
            coordinate_check(arch, scheme, lr=0.0, width=WIDTH, steps=0, batch=BATCH, seed=seed).growth()
            for seed in SEEDS
        ]
        xs += [nodes] * len(growths)
        ys += [float(np.log2(g)) for g in growths]
        means[nodes] = float(np.mean(growths))
    return stats.slope(np.array(xs, dtype=float), np.array(ys)), means


def init_growth() -> tuple[Estimate, float, dict[str, Any]]:
    """(the architecture-aware init's slope as an estimate, He's slope: the value of no effect, the
    protocol)."""
    fit, means = growth_slope(SCHEME)
    he, he_means = growth_slope(NULL_SCHEME)
    estimate = Estimate(fit.slope, fit.lo, fit.hi, fit.n, "t (regression, n − 2 dof)")
    protocol = {
        "check": "archscale check (coordinate check at initialisation, steps 0)",
        "architectures": [complete_dag(n) for n in NODES],
        "width": WIDTH,
        "batch_size": BATCH,
        "seeds": list(SEEDS),
        "steps_per_run": 0,
        "epochs": 0,
        "grid": None,
        "criterion": "log2 RMS growth from node 0 to the output node, slope per parameterised node",
        "dataset": "Gaussian inputs",
        "growth": {SCHEME: means, NULL_SCHEME: he_means},
        "null_slope": he.slope,
    }
    return estimate, he.slope, protocol
