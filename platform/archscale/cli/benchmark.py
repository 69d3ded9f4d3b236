"""`archscale benchmark import nb201 FILE`: store a benchmark's published accuracies, which
`archscale compare` then compares a study's arms against (accuracy, rankings, pairwise gaps).

Two formats (`--format auto` tells them by the path; see `archscale.store.benchmark_files`):
- csv: a header naming `arch,dataset,seed,epochs,test_accuracy` (any order; other columns are
  ignored; `dataset` and `epochs` may be left out when `--dataset`/`--epochs` give them). `arch` is a
  NAS-Bench-201 string or digit code. Accuracies are fractions unless some value exceeds 1: then the
  whole file is read as percent (a note on stderr says so).
- nats: NATS-Bench's topology file (`NATS-tss-v1_0-3ffb9.pickle.pbz2`) or its fast-mode folder
  (`NATS-tss-v1_0-3ffb9-simple`), read by the official `nats_bench` package (`pip install
  'archscale[benchmarks]'`): every cell's test accuracy per seed after `--epochs` (200 or 12) on each
  `--dataset` (default all three: cifar10 (trained on train+valid, the test set), cifar100 and
  imagenet16-120 (their x-test halves)). Its 200-epoch results are NAS-Bench-201's.

A batch never stops at one bad line (or cell): each is reported on stderr (`archscale: line N: why`)
and the counts follow; exit 0. `--strict` stops at the first one (exit 2). Everything is stored in one
transaction after reading, so a failed import writes nothing; importing again changes nothing.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archscale.cli.options import DbOption, UpgradeDbOption
from archscale.errors import UserError
from archscale.store.benchmark_files import (
    BENCHMARKS,
    DEFAULT_NATS_EPOCHS,
    NATS_DATASETS,
    Entry,
    dataset_name,
    file_format,
    read_csv,
    read_nats,
)

if TYPE_CHECKING:
    from archscale.store import BenchmarkRow

app = typer.Typer(
    help="A benchmark's published results (NAS-Bench-201), for `archscale compare`.", no_args_is_help=True
)


@app.command("import")
def import_results(
    benchmark: Annotated[str, typer.Argument(help="The benchmark: nb201 (NAS-Bench-201 / NATS-Bench topology).")],
    file: Annotated[Path, typer.Argument(help="A CSV, or NATS-Bench's topology file or fast-mode folder.")],
    db: DbOption = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(help="Dataset(s) to import (repeatable): cifar10, cifar100, ImageNet16-120. Default: all."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Training epochs of the results to import (NATS-Bench: 200 or 12; default 200).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto (by the path), csv or nats.")] = "auto",
    strict: Annotated[bool, typer.Option(help="Stop at the first bad line or cell (exit 2).")] = False,
    upgrade_db: UpgradeDbOption = False,
) -> None:
    """Import a benchmark's published test accuracies (per cell, dataset, seed and epochs) into the
    results database; `archscale compare` then compares NAS-Bench-201 studies against them."""
    if benchmark.lower() not in BENCHMARKS:
        raise UserError(f"unknown benchmark '{benchmark}'; known: {', '.join(BENCHMARKS)}")
    datasets = list(dict.fromkeys(dataset_name(d) for d in dataset or ()))
    if epochs is not None and epochs <= 0:
        raise UserError(f"--epochs must be positive, got {epochs}")
    kind = file_format(file, fmt)

    def report(entry: Entry) -> None:
        """A bad entry: a line on stderr, or (strict) the end of the command."""
        if entry.error is None:
            return
        if strict:
            raise UserError(f"{entry.where}: {entry.error} (--strict: nothing imported)")
        print(f"archscale: {entry.where}: {entry.error}", file=sys.stderr)

    if kind == "csv":
        entries = read_csv(file, datasets, epochs, report, lambda text: print(f"archscale: {text}", file=sys.stderr))
    else:
        entries = read_nats(file, datasets or list(NATS_DATASETS), epochs or DEFAULT_NATS_EPOCHS, report)
    rows = [row for entry in entries for row in entry.rows]
    counts = Counter("error" if e.error else "skipped" if e.skipped else "ok" for e in entries)
    what = "lines" if kind == "csv" else "cells"
    shown = ", ".join(f"{counts[s]} {s}" for s in ("ok", "error", "skipped") if counts[s])
    print(f"archscale: {len(entries)} {what}: {shown or 'none'}", file=sys.stderr)
    if not rows:
        raise UserError(f"no result to import from {file}")

    from archscale.store import Writer, resolve_url
    from archscale.store.url import shown as shown_url

    url = resolve_url(db)
    with Writer(url, upgrade_db=upgrade_db) as writer:
        written = writer.write_benchmark_results(benchmark.lower(), rows)
        where = shown_url(writer.engine.url)
    print(f"{where}: stored {written} {benchmark.lower()} results ({_summary(rows)}) from {file.name}")


def _summary(rows: list[BenchmarkRow]) -> str:
    cells = len({r.graph_hash for r in rows})
    parts = []
    for (data, epochs), count in Counter((r.dataset, r.epochs) for r in rows).items():
        seeds = sorted({r.seed for r in rows if r.dataset == data and r.epochs == epochs})
        parts.append(f"{data} {epochs} epochs: {count} (seeds {', '.join(map(str, seeds))})")
    return f"{cells} cells; " + "; ".join(parts)
