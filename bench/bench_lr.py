"""Benchmarks of issue 2: `archscale lr` over all 59,049 five-node DAG strings (start-up included),
and the path-moment DP against brute-force path enumeration on complete DAGs.

    .venv/bin/python bench/bench_lr.py [--quick]

`--quick` (the suite runs it, so the benchmark cannot rot): the first 1,000 strings once, and enumeration
up to a budget of 0.5 s.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import time
from pathlib import Path

from archscale.graph import Edge, Graph, iter_paths, path_moments
from archscale.graph.ops import LINEAR
from archscale.graph.paths import path_depth

BRUTE_FORCE_BUDGET_S = 30.0


def n5_strings(limit: int | None = None) -> list[str]:
    rows = []
    for digits in itertools.product("012", repeat=10):
        d = "".join(digits)
        rows.append("_".join((d[0], d[1:3], d[3:6], d[6:10])))
    return rows[:limit]


def bench_cli(repeats: int = 3, limit: int | None = None) -> None:
    strings = n5_strings(limit)
    script = Path(sys.executable).with_name("archscale")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        text = "\n".join(strings) + "\n"
        out = subprocess.run([str(script), "lr", "--json"], input=text, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        assert out.stdout.count("\n") == len(strings)
    print(
        f"archscale lr --json, {len(strings):,} N5 DAG strings: median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    )


def complete(n: int) -> Graph:
    return Graph.build(n, [Edge(j, k, LINEAR) for k in range(1, n) for j in range(k)])


def bench_dp_vs_enumeration(budget: float = BRUTE_FORCE_BUDGET_S) -> None:
    print(f"{'nodes':>5} {'paths':>22} {'DP (ms)':>9} {'enumeration (s)':>16} {'ratio':>10}")
    spent = 0.0
    for n in range(10, 61, 2):
        graph = complete(n)
        start = time.perf_counter()
        moments = path_moments(graph, offset=3)
        dp = time.perf_counter() - start
        estimate = spent * 4 if spent else 0.0  # paths quadruple every 2 nodes
        if estimate < budget:
            start = time.perf_counter()
            s3 = sum(path_depth(graph, p, offset=3) ** 3 for p in iter_paths(graph))
            spent = time.perf_counter() - start
            assert s3 == moments.s3
            brute, ratio = f"{spent:.3f}", f"{spent / dp:,.0f}x"
        else:
            brute, ratio = f"~{estimate:.3g} (est.)", "-"
            spent = estimate
        print(f"{n:>5} {moments.count:>22,} {dp * 1e3:>9.2f} {brute:>16} {ratio:>10}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 strings once; enumeration within 0.5 s")
    if parser.parse_args().quick:
        bench_cli(repeats=1, limit=1000)
        bench_dp_vs_enumeration(budget=0.5)
    else:
        bench_cli()
        bench_dp_vs_enumeration()
