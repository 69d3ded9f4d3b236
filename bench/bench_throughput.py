"""Training throughput of one CPU core, in FLOP/s: the figure `archscale plan` divides a study's FLOPs by.

Trains a NAS-Bench-201 network (by default C=16, N=5, the benchmark's densest cell, 32×32 inputs, 10
classes) with SGD on random batches on one thread, and reports 3 × forward FLOPs (nn.flops: 2 × MACs of
the Linear and Conv layers; backward counted as twice the forward) × samples ÷ seconds, the first steps
being a warm-up. `--quick` runs a tiny network for a few steps (the suite's check that it runs).

    .venv/bin/python bench/bench_throughput.py            # the figure of archscale.execution.estimate
    .venv/bin/python bench/bench_throughput.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from archscale.graph import parse_architecture
from archscale.nn import build_model
from archscale.nn.flops import count_flops

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
    else:
        figures = measure(args.width, args.cells, 32, args.batch, args.steps, 2, args.repeats)
    print(
        f"one CPU thread, NB201 densest cell: {figures['forward_flops'] / 1e6:.1f} MFLOPs forward per sample, "
        f"training {figures['flops_per_second'] / 1e9:.2f} GFLOP/s (max/min over repeats {figures['spread']:.2f})"
    )


if __name__ == "__main__":
    main()
