"""Training throughput of one CPU core, in FLOP/s, and its fixed cost per SGD step: the two figures
`archscale plan` turns a study's FLOPs and steps into CPU core-hours.

Throughput: trains a NAS-Bench-201 network (by default C=16, N=5, the benchmark's densest cell, 32×32
inputs, 10 classes) with SGD on random batches on one thread, and reports 3 × forward FLOPs (nn.flops: 2 ×
MACs of the Linear and Conv layers; backward counted as twice the forward) × samples ÷ seconds, the first
steps being a warm-up.
Fixed cost per step: times archscale's training loop (`train`, SGD with momentum 0.9) at batch 2 on one
thread for tiny models whose FLOPs cost next to nothing (DAG-MLPs, DAG-CNNs and NAS-Bench-201 networks of
1–3 cells), and fits per kind of network by non-negative least squares seconds per step = a + b_weight ×
weight-layer calls + b_other × other leaf-module calls of one forward (`nn.forward_counts`; dense
networks: one slope, each Linear comes with its activation). `--quick` runs a tiny network for a few
steps and two tiny models (the suite's check that it runs).

    .venv/bin/python bench/bench_throughput.py            # the figures of archscale.execution.estimate
    .venv/bin/python bench/bench_throughput.py --quick
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import statistics
import time
from typing import Any

import numpy as np
import scipy.optimize
import torch

from archscale.data import Split, load_dataset
from archscale.graph import parse_architecture
from archscale.nn import build_model
from archscale.nn.flops import count_flops, forward_counts
from archscale.train import TrainConfig, train

DENSEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def measure(width: int, cells: int, image: int, batch: int, steps: int, warmup: int, repeats: int) -> dict[str, float]:
    """Median training FLOP/s over `repeats` timings of `steps` SGD steps after `warmup` steps."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    shape = (3, image, image)
    model = build_model(parse_architecture(DENSEST, "nb201"), classes=10, input_shape=shape, width=width, cells=cells)
    flops = count_flops(model, shape)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(3 * flops * batch * steps / (time.perf_counter() - start))
    return {"forward_flops": flops, "flops_per_second": statistics.median(rates), "spread": max(rates) / min(rates)}


OVERHEAD_MODELS = (
    ("2", "mlp", 1),
    ("2_02", "mlp", 1),
    ("2_22_222", "mlp", 1),
    ("2_22_222_2222", "mlp", 1),
    ("2_22_222_2222_22222", "mlp", 1),
    ("2_02", "cnn", 1),
    ("2_22_222", "cnn", 1),
    (DENSEST, "nb201", 1),
    (DENSEST, "nb201", 2),
    (DENSEST, "nb201", 3),
    ("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|", "nb201", 1),
    ("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|", "nb201", 3),
)
"""(notation, family, NB201 cells per stage) of the tiny models the fixed cost per step is fitted on."""


def overhead(models: tuple[tuple[str, str, int], ...], steps: int, repeats: int) -> dict[str, Any]:
    """Seconds per SGD step (batch 2, one thread; median of `repeats` timings of `steps` steps) of each
    tiny model against its forward's leaf-module calls, and per kind of network (`dense`: no
    convolution, `conv`) the least-squares line a + b × calls."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    measured = []
    for notation, family, cells in models:
        shape = (64,) if family == "mlp" else (3, 8, 8)
        extra = {"cells": cells} if family == "nb201" else {}
        model = build_model(parse_architecture(notation, family), classes=10, input_shape=shape, width=4, **extra)
        counts = forward_counts(model, shape)
        name = f"{family} {notation if len(notation) < 24 else notation[:21] + '...'} ×{cells}"
        seconds = _seconds_per_step(model, shape, steps, repeats)
        measured.append((name, counts.kind, counts.weight_calls, counts.calls - counts.weight_calls, seconds))
    lines = {}
    for kind in sorted({k for _, k, _, _, _ in measured}):
        points = [(w, o, t) for _, k, w, o, t in measured if k == kind]
        weight, other, seconds = (np.array(column, dtype=float) for column in zip(*points, strict=True))
        if kind == "dense" and len(points) > 1:  # each Linear comes with its activation: one slope for both
            b, a = np.polyfit(weight + other, seconds, 1)
            lines[kind] = (float(a), float(b), float(b))
        elif len(points) > 2:  # non-negative least squares: no call may cost less than nothing
            design = np.column_stack([np.ones_like(weight), weight, other])
            a, b_weight, b_other = scipy.optimize.nnls(design, seconds)[0]
            lines[kind] = (float(a), float(b_weight), float(b_other))
    return {"lines": lines, "models": measured}


def _seconds_per_step(model: torch.nn.Module, shape: tuple[int, ...], steps: int, repeats: int) -> float:
    """Median over `repeats` of the seconds per step of archscale's own training loop (`train`: batching,
    schedule, divergence checks, one evaluation of 2 examples) over `steps` SGD steps at batch 2, after a
    warm-up run."""
    generator = torch.Generator().manual_seed(0)

    def split(n: int) -> Split:
        return Split(torch.randn(n, *shape, generator=generator), torch.randint(0, 10, (n,), generator=generator))

    template = load_dataset("digits", limit=20, test_limit=10)
    splits = dataclasses.replace(template, train=split(2 * steps), val=split(0), test=split(2), input_shape=shape)
    config = TrainConfig(lr=0.01, epochs=1, batch_size=2, schedule="constant", device="cpu", threads=1)
    initial = copy.deepcopy(model.state_dict())
    timings = []
    for _ in range(repeats + 1):  # the first run warms up
        model.load_state_dict(initial)
        start = time.perf_counter()
        train(model, splits, config)
        timings.append((time.perf_counter() - start) / steps)
    return statistics.median(timings[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a tiny network, a few steps")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.quick:
        figures = measure(4, 1, 16, 8, 2, 1, 1)
        fixed = overhead(OVERHEAD_MODELS[:2], 5, 1)  # two dense models: one line
    else:
        figures = measure(args.width, args.cells, 32, args.batch, args.steps, 2, args.repeats)
        fixed = overhead(OVERHEAD_MODELS, 300, args.repeats)
    print(
        f"one CPU thread, NB201 densest cell: {figures['forward_flops'] / 1e6:.1f} MFLOPs forward per sample, "
        f"training {figures['flops_per_second'] / 1e9:.2f} GFLOP/s (max/min over repeats {figures['spread']:.2f})"
    )
    for name, kind, weight, other, seconds in fixed["models"]:
        a, b_weight, b_other = fixed["lines"].get(kind, (math.nan,) * 3)
        line = a + b_weight * weight + b_other * other
        print(f"  {name:<32} {weight:>3} + {other:>3} calls  {1e3 * seconds:7.3f} ms per step (fit: {1e3 * line:7.3f})")
    for kind, (a, b_weight, b_other) in fixed["lines"].items():
        print(
            f"fixed cost per SGD step, {kind}: {1e6 * a:.1f} µs + {1e6 * b_weight:.2f} µs per weight-layer call "
            f"+ {1e6 * b_other:.2f} µs per other leaf-module call of the forward"
        )


if __name__ == "__main__":
    main()
