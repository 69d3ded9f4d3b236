"""Benchmarks of issue 15: packed training against unpacked training, in the same process.

    .venv/bin/python bench/bench_pack.py probe                 # the probe protocol, small
    .venv/bin/python bench/bench_pack.py probe --full          # 8 chain MLPs x 49 LRs x 3 seeds, width 256
    python3 bench/bench_pack.py throughput --device cuda --bf16 --channels-last --out DIR

`probe`: the paper's LR probe (chain MLPs of depth 1..D, log-spaced LRs with ratio 2^(1/4), seeds;
digits, one epoch of plain SGD at batch 128), trained three ways: a plain PyTorch loop (model,
optimizer, batches, one evaluation on the test split, per run), `archscale.train.train` per run, and
packs (the runs of one architecture in `pack_size_auto` packs). Prints wall and process CPU seconds
and their ratios to the plain loop; with `--threads 1` the CPU time is robust to other processes' load.

`platform`: the issue's comparison, side by side in one window: the probe protocol (9 chain MLPs of depth
0..8, the base network included, x 49 LRs with ratio 2^(1/4) x 3 seeds, width 256, digits, one epoch)
through `archscale run` (embedded Ray, packs, SQLite, every epoch stored) against a plain loop doing the
same runs in as many processes as the machine has cores. Prints both wall times and their ratio (goal:
platform / plain <= 1.2). `--repeat N` measures N times and prints the ratios' median and range (on a
shared machine one ratio varies by about 0.1). `--small` runs a quick version; `--seeds N` trains N seeds
per LR instead of the protocol's 3 (a larger study over which the platform's fixed start-up and shut-down
spread).

`throughput`: NAS-Bench-201 (cell 3_33_133, C=16, N=5 by default) on CIFAR-shaped synthetic data with
the benchmark's recipe (Nesterov, weight decay, cosine, crop+flip), packed at K = 1, 4, 8, 16, and
`archscale.train.train` unpacked; training images per second of the median timed epoch (an epoch is
training plus evaluating one test batch), and the implied GPU-minutes for one 200-epoch CIFAR-10
training (50,000 images per epoch). Writes throughput.json and throughput.md under `--out`.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from archscale.data import BatchIterator, Splits, load_dataset
from archscale.graph import parse_architecture
from archscale.nn import build_model, init_model
from archscale.nn.packed import pack_models
from archscale.train import TrainConfig, train
from archscale.train.packed import pack_size_auto, train_pack
from bench_train import nb201_cases, trainer_run

CIFAR10_IMAGES = 50_000
CIFAR10_EPOCHS = 200


# --- probe protocol -------------------------------------------------------------------------------


def chain(depth: int) -> str:
    """The DAG string of a chain of `depth` Linear blocks: `2_02_002...`."""
    return "_".join("0" * k + "2" for k in range(depth))


def probe_models(depth: int, width: int, seeds: list[int]) -> list[nn.Module]:
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(parse_architecture(chain(depth), "mlp"), width=width, input_shape=(64,))
        init_model(model, "architecture-aware")
        models.append(model)
    return models


def probe_config(lr: float, seed: int) -> TrainConfig:
    """The paper's one-epoch probe run (paper-spec §4.5): plain SGD, constant LR, batch 128."""
    return TrainConfig(lr=lr, epochs=1, batch_size=128, momentum=0.0, schedule="constant", seed=seed, device="cpu")


def plain_run(model: nn.Module, splits: Splits, lr: float, seed: int) -> float:
    """One run as a plain PyTorch loop would do it; returns the test accuracy."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for x, y in BatchIterator(splits.train, 128, generator=generator):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(splits.test.x).argmax(1) == splits.test.y).float().mean())


def probe(args: argparse.Namespace) -> None:
    depths = list(range(1, (8 if args.full else args.depths) + 1))
    points = 49 if args.full else args.points
    seeds = list(range(3 if args.full else args.seeds))
    width = 256 if args.full else args.width
    lrs = [2.0 ** (-12 + 12 * i / (points - 1)) for i in range(points)] if points > 1 else [0.05]
    splits = load_dataset("digits", flatten=True, val_fraction=0.1)
    runs = len(depths) * len(lrs) * len(seeds)
    print(
        f"probe: {len(depths)} chain MLPs x {len(lrs)} LRs x {len(seeds)} seeds = {runs} runs, width {width}, "
        f"digits, 1 epoch, torch threads {torch.get_num_threads()}"
    )
    cpu = torch.device("cpu")
    timings: dict[str, tuple[float, float]] = {}  # side -> (wall seconds, process CPU seconds)

    start, cpu_start = time.perf_counter(), time.process_time()
    for depth in depths:
        models = probe_models(depth, width, seeds)
        for lr in lrs:
            for seed, model in zip(seeds, models, strict=True):
                plain_run(copy.deepcopy(model), splits, lr, seed)
    timings["plain loop"] = time.perf_counter() - start, time.process_time() - cpu_start

    start, cpu_start = time.perf_counter(), time.process_time()
    for depth in depths:
        models = probe_models(depth, width, seeds)
        for lr in lrs:
            for seed, model in zip(seeds, models, strict=True):
                train(copy.deepcopy(model), splits, probe_config(lr, seed))
    timings["train() per run"] = time.perf_counter() - start, time.process_time() - cpu_start

    start, cpu_start = time.perf_counter(), time.process_time()
    packs = 0
    for depth in depths:
        models = probe_models(depth, width, seeds)
        members = [(model, probe_config(lr, seed)) for lr in lrs for seed, model in enumerate(models)]
        size = pack_size_auto(models[0], (64,), 128, cpu, runs=len(members))
        for first in range(0, len(members), size):
            chunk = members[first : first + size]
            train_pack(pack_models([m for m, _ in chunk]), splits, [c for _, c in chunk])
            packs += 1
    timings[f"packed ({packs} packs)"] = time.perf_counter() - start, time.process_time() - cpu_start

    plain_wall, plain_cpu = timings["plain loop"]
    for label, (wall, cpu_seconds) in timings.items():
        print(
            f"  {label:<22} {wall:7.1f} s wall ({wall / plain_wall:4.2f}x the plain loop)   "
            f"{cpu_seconds:7.1f} CPU-s ({cpu_seconds / plain_cpu:4.2f}x)   {runs / wall:6.1f} runs/s"
        )


# --- the probe protocol through `archscale run` ---------------------------------------------------

PLATFORM_STUDY = """\
name: bench-probe
dataset: {{name: digits}}
model: {{family: mlp, width: {width}}}
architectures: [{{sweep: depth, depths: {depths}}}]
training: {{epochs: 1, batch_size: 128}}
seeds: {seeds}
strategies:
  probe: {{low: {low}, high: {high}, points: {points}, epochs: 1, optimizer: {{momentum: 0.0}}, schedule: constant}}
resources: {{cpu_per_trial: 1, pack: {pack}}}
"""


def _plain_runs(jobs: list[tuple[str, float, int]], width: int) -> None:
    """A plain process's share of the runs: build, init, train one epoch, evaluate val and test."""
    torch.set_num_threads(1)
    splits = load_dataset("digits")
    for notation, lr, seed in jobs:
        torch.manual_seed(seed)
        model = build_model(parse_architecture(notation, "mlp"), width=width, input_shape=splits.input_shape)
        init_model(model, "architecture-aware")
        plain_run(model, splits, lr, seed)
        with torch.no_grad():
            model(splits.val.x)


def platform(args: argparse.Namespace) -> None:
    """The side-by-side comparison `args.repeat` times; with more than one, the ratios' median and range."""
    ratios = []
    for attempt in range(args.repeat):
        if args.repeat > 1:
            print(f"[{attempt + 1}/{args.repeat}] {time.strftime('%H:%M:%S', time.gmtime())} UTC")
        ratios.append(_platform_once(args))
    if len(ratios) > 1:
        print(
            f"ratios: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f} "
            f"(range {min(ratios):.2f}-{max(ratios):.2f}, n = {len(ratios)}); "
            f"<= 1.2 in {sum(r <= 1.2 for r in ratios)} of {len(ratios)}"
        )


def _platform_once(args: argparse.Namespace) -> float:
    """One side-by-side measurement (the platform, then the plain loop); prints both and returns the ratio."""
    import multiprocessing
    import os
    import sqlite3
    import subprocess
    import tempfile

    depths, points, seeds, width = (
        ([1, 2, 3], 13, [0, 1], 64) if args.small else (list(range(1, 9)), 49, list(range(args.seeds)), 256)
    )
    low, high = 2.0**-10, 2.0 ** (-10 + (points - 1) / 4)
    lrs = [low * 2 ** (i / 4) for i in range(points)]
    notations = ["1", *(chain(d) for d in depths)]  # the probe also probes the base network
    jobs = [(n, lr, seed) for n in notations for lr in lrs for seed in seeds]
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        study = Path(folder) / "probe.yaml"
        study.write_text(
            PLATFORM_STUDY.format(
                width=width, depths=depths, seeds=seeds, low=low, high=high, points=points, pack=args.pack
            )
        )
        db = Path(folder) / "probe.db"
        started_at, start = time.time(), time.perf_counter()
        command = [sys.executable, "-m", "archscale.cli", "run", str(study), "--db", f"sqlite:///{db}", "--no-compare"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        platform_wall = time.perf_counter() - start
        with sqlite3.connect(db) as connection:
            stored = connection.execute("SELECT count(*) FROM archscale_trial WHERE status = 'completed'").fetchone()[0]
            first, last, packs, training = connection.execute(
                "SELECT min(started_at), max(finished_at), count(DISTINCT ray_trial_id), sum(wall_seconds) "
                "FROM archscale_trial"
            ).fetchone()
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.starmap(_plain_runs, [(jobs[w::workers], width) for w in range(workers)])
    plain_wall = time.perf_counter() - start
    print(
        f"probe protocol: {len(notations)} networks x {points} LRs x {len(seeds)} seeds = {len(jobs)} runs, "
        f"width {width}"
    )
    print(f"  archscale run: {platform_wall:6.1f} s ({stored} runs stored completed)")
    before = _seconds_since(started_at, first)
    window = _seconds_since(started_at, last) - before
    print(
        f"    {before:.1f} s before the first trial, {window:.1f} s of trials ({packs} packs training "
        f"{training / workers:.1f} s per worker), {platform_wall - before - window:.1f} s after the last"
    )
    print(f"  plain loop   : {plain_wall:6.1f} s ({workers} processes)")
    print(f"  ratio        : {platform_wall / plain_wall:.2f}")
    return platform_wall / plain_wall


def _seconds_since(epoch_seconds: float, stored: str) -> float:
    """Seconds from a `time.time()` to a timestamp the database stored (UTC, without a zone)."""
    from datetime import UTC, datetime

    return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp() - epoch_seconds


# --- NAS-Bench-201 throughput ---------------------------------------------------------------------


def throughput(args: argparse.Namespace) -> None:
    device = torch.device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    case = nb201_cases(args.steps, args.batch, args.epochs, 1, width=args.width, cells=args.cells, image=args.image)[1]
    images = len(case.splits.train)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"{case.name}; {name}; torch {torch.__version__}; bf16={args.bf16}, channels_last={args.channels_last}")
    rows = []
    for k in args.ks:
        members = []
        for seed in range(k):
            model = copy.deepcopy(case.model)
            torch.manual_seed(seed)
            init_model(model, "kaiming")
            members.append(model)
        configs = [
            TrainConfig(
                lr=0.05 + 0.01 * seed,
                epochs=args.epochs,
                batch_size=args.batch,
                momentum=0.9,
                nesterov=True,
                weight_decay=5e-4,
                schedule="cosine",
                seed=seed,
                augment=True,
                device=device.type,
                bf16=args.bf16,
                channels_last=args.channels_last,
                eval_batch_size=args.batch,
            )
            for seed in range(k)
        ]
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        results = train_pack(pack_models(members), case.splits, configs)
        epoch_seconds = [m.seconds * k for m in results[0].epochs[1:]]  # each member's share is 1/K
        rows.append(row(f"packed K={k}", k, images, statistics.median(epoch_seconds), device))
        print_row(rows[-1])
    epochs = trainer_run(case, device, args.bf16, args.channels_last)
    rows.append(row("train() unpacked", 1, images, statistics.median(w for w, _ in epochs[1:]), device))
    print_row(rows[-1])
    base = rows[0]["images_per_second"]
    for r in rows:
        r["speedup_vs_packed_k1"] = r["images_per_second"] / base
    facts = {
        "device": name,
        "torch": torch.__version__,
        "case": case.name,
        "bf16": args.bf16,
        "channels_last": args.channels_last,
        "timed_epochs": args.epochs - 1,
        "rows": rows,
    }
    (out / "throughput.json").write_text(json.dumps(facts, indent=2) + "\n")
    (out / "throughput.md").write_text(markdown(facts))
    print(f"wrote {out / 'throughput.json'} and {out / 'throughput.md'}")


def row(label: str, k: int, images: int, epoch_seconds: float, device: torch.device) -> dict[str, object]:
    per_second = k * images / epoch_seconds
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {
        "side": label,
        "members": k,
        "epoch_seconds": epoch_seconds,
        "images_per_second": per_second,
        "gpu_minutes_per_200_epoch_cifar10": CIFAR10_EPOCHS * CIFAR10_IMAGES / per_second / 60,
        "peak_mib": peak,
    }


def print_row(r: dict[str, object]) -> None:
    print(
        f"  {r['side']:<18} {r['images_per_second']:>10,.0f} images/s   "
        f"{r['gpu_minutes_per_200_epoch_cifar10']:8.1f} min per 200-epoch CIFAR-10 run"
    )


def markdown(facts: dict) -> str:
    lines = [
        f"{facts['case']}; {facts['device']}; torch {facts['torch']}; bf16={facts['bf16']}, "
        f"channels_last={facts['channels_last']}; median of {facts['timed_epochs']} timed epochs",
        "",
        "| side | members | images/s | × packed K=1 | minutes per 200-epoch CIFAR-10 run | peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in facts["rows"]:
        peak = "-" if r["peak_mib"] is None else f"{r['peak_mib']:,.0f}"
        lines.append(
            f"| {r['side']} | {r['members']} | {r['images_per_second']:,.0f} | {r['speedup_vs_packed_k1']:.2f} | "
            f"{r['gpu_minutes_per_200_epoch_cifar10']:.1f} | {peak} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("probe", parents=[common], help="the probe protocol: plain loop vs train() vs packs")
    p.add_argument("--full", action="store_true", help="the issue's size: 8 depths x 49 LRs x 3 seeds, width 256")
    p.add_argument("--depths", type=int, default=4)
    p.add_argument("--points", type=int, default=13)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--width", type=int, default=64)
    f = commands.add_parser("platform", parents=[common], help="the probe protocol: archscale run vs a plain loop")
    f.add_argument("--small", action="store_true", help="3 depths x 13 LRs x 2 seeds at width 64")
    f.add_argument("--pack", default="auto", help="the study's resources.pack: auto, K or 1")
    f.add_argument("--seeds", type=int, default=3, help="seeds per LR (the protocol: 3; more shows the fixed costs)")
    f.add_argument("--repeat", type=int, default=1, help="measure N times; prints the ratios' median and range")
    t = commands.add_parser("throughput", parents=[common], help="NAS-Bench-201 packs at several K")
    t.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    t.add_argument("--ks", type=int, nargs="+", default=[1, 4, 8, 16])
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--cells", type=int, default=5)
    t.add_argument("--image", type=int, default=32)
    t.add_argument("--batch", type=int, default=256)
    t.add_argument("--steps", type=int, default=20, help="steps per epoch")
    t.add_argument("--epochs", type=int, default=3, help="per run, the first one a warm-up")
    t.add_argument("--bf16", action="store_true")
    t.add_argument("--channels-last", action="store_true")
    t.add_argument("--out", default=".")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.command == "probe":
        probe(args)
    elif args.command == "platform":
        platform(args)
    else:
        if args.epochs < 2:
            parser.error("--epochs must be >= 2 (the first one is a warm-up)")
        throughput(args)


if __name__ == "__main__":
    main()
