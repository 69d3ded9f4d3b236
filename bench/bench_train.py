"""Benchmarks of issue 3: the trainer's throughput against a plain PyTorch loop in the style of the
paper's code (DataLoader over a TensorDataset, per-batch `.to(device)`, a `.item()` per step,
per-image transforms when augmenting), in the same process, on the same model and data.

    .venv/bin/python bench/bench_train.py                                  # CPU, both cases
    .venv/bin/python bench/bench_train.py --device cuda --bf16 --channels-last --workers 4

Data: mnist1d generation against its caches, and batched crop+flip against per-image transforms.
Cases: (a) a one-hidden-layer MLP (width 512) on digits, batch 128; (b) the NAS-Bench-201 network
C=16 N=5 (cell 3_33_133) on synthetic 32×32×3 data, batch 256, with and without crop+flip.
Each side runs one warm-up epoch, then timed epochs; an epoch is training plus the same evaluation
(val and test) on both sides. Figures are training images per second of the median epoch, by wall
time and by process CPU time; on a shared machine, `--threads 1` makes the CPU-time figure robust to
other processes' load (with one thread, the CPU time is the work done, however long the waits).
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from archscale.data import CropFlip, Split, Splits, load_dataset, mnist1d, registry
from archscale.train import TrainConfig, train


@dataclass(frozen=True)
class Case:
    name: str
    splits: Splits
    model: nn.Module
    batch_size: int
    augment: bool
    epochs: int  # per run, including the warm-up epoch
    rounds: int  # runs per side


class PerImageCropFlip(Dataset):
    """The reference side's augmentation: torchvision-style transforms, one image at a time."""

    def __init__(self, split: Split, padding: int) -> None:
        self.x, self.y, self.padding = split.x, split.y, padding

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, p = self.x[i], self.padding
        h, w = image.shape[1:]
        top, left = random.randint(0, 2 * p), random.randint(0, 2 * p)
        image = F.pad(image, (p, p, p, p))[:, top : top + h, left : left + w]
        if random.random() < 0.5:
            image = image.flip(-1)
        return image, self.y[i]


Epoch = tuple[float, float]  # (wall seconds, process CPU seconds) of one epoch


def reference_run(case: Case, device: torch.device, workers: int) -> list[Epoch]:
    """Epoch times of the reference loop: the paper's main.py train()/validate(), trimmed."""
    model = copy.deepcopy(case.model).to(device)
    train_x, train_y = case.splits.train.x, case.splits.train.y
    dataset = PerImageCropFlip(case.splits.train, 4) if case.augment else TensorDataset(train_x, train_y)
    pin = device.type == "cuda"
    loader = DataLoader(dataset, case.batch_size, shuffle=True, num_workers=workers, pin_memory=pin)
    evals = [
        DataLoader(TensorDataset(s.x, s.y), case.batch_size, num_workers=workers, pin_memory=pin)
        for s in (case.splits.val, case.splits.test)
        if len(s)
    ]
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    times = []
    for _ in range(case.epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train()
        total = 0.0
        for image, target in loader:
            image, target = image.to(device), target.to(device)
            loss = criterion(model(image), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * image.size(0)
        model.eval()
        for eval_loader in evals:
            for image, target in eval_loader:
                image, target = image.to(device), target.to(device)
                with torch.no_grad():
                    total += criterion(model(image), target).item()
        times.append((time.perf_counter() - start, time.process_time() - cpu_start))
    return times


def trainer_run(case: Case, device: torch.device, bf16: bool, channels_last: bool) -> list[Epoch]:
    """Epoch times of archscale.train.train on the same work (CPU time between epoch callbacks)."""
    config = TrainConfig(
        lr=0.01,
        epochs=case.epochs,
        batch_size=case.batch_size,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        augment=case.augment,
        device=device.type,
        bf16=bf16,
        channels_last=channels_last,
        eval_batch_size=case.batch_size,
    )
    cpu_marks = [time.process_time()]
    result = train(
        copy.deepcopy(case.model), case.splits, config, on_epoch=lambda _: cpu_marks.append(time.process_time())
    )
    cpu = [b - a for a, b in itertools.pairwise(cpu_marks)]
    return [(m.seconds, c) for m, c in zip(result.epochs, cpu, strict=True)]


def peak_memory(run: Callable[[], list[Epoch]], device: torch.device) -> tuple[list[Epoch], float | None]:
    if device.type != "cuda":
        return run(), None
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    times = run()
    return times, torch.cuda.max_memory_allocated() / 2**20


def digits_case(epochs: int) -> Case:
    torch.manual_seed(0)
    splits = load_dataset("digits", flatten=True)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))
    return Case("(a) MLP 64-512-10, digits, batch 128", splits, model, 128, False, epochs, rounds=3)


def nb201_cases(
    steps: int, batch: int, epochs: int, rounds: int, *, width: int = 16, cells: int = 5, image: int = 32
) -> list[Case]:
    """NAS-Bench-201 (cell 3_33_133, C=`width`, N=`cells`) on synthetic image×image×3 data, without and
    with crop+flip; `batch · steps` training images and one batch of test images."""
    from archscale.graph import parse_architecture
    from archscale.nn import build_model

    torch.manual_seed(0)
    shape = (3, image, image)
    splits = load_dataset(
        "synthetic", shape=shape, classes=10, train_size=batch * steps, test_size=batch, val_fraction=0
    )
    model = build_model(parse_architecture("3_33_133"), width=width, cells=cells, classes=10, input_shape=shape)
    title = f"(b) NB201 C={width} N={cells} (3_33_133), synthetic {image}x{image}x3, batch {batch}, {steps} steps/epoch"
    return [
        Case(title, splits, model, batch, False, epochs, rounds),
        Case(title + ", crop+flip", splits, model, batch, True, epochs, rounds),
    ]


def report(case: Case, device: torch.device, args: argparse.Namespace) -> None:
    """Run the two sides alternately (`case.rounds` times each, so background load hits both alike)."""
    n = len(case.splits.train)
    sides = {
        "reference loop": lambda: reference_run(case, device, args.workers),
        "archscale train()": lambda: trainer_run(case, device, args.bf16, args.channels_last),
    }
    times: dict[str, list[Epoch]] = {side: [] for side in sides}
    peaks: dict[str, float | None] = {}
    for _ in range(case.rounds):
        for side, run in sides.items():
            epochs, peaks[side] = peak_memory(run, device)
            times[side] += epochs[1:]  # the first epoch of every run is a warm-up
    print(
        f"\n{case.name}  ({n} training images; {case.rounds} round(s) of 1 warm-up + "
        f"{case.epochs - 1} timed epochs per side)"
    )
    print(f"| {'side':<18} | {'images/s':>10} | {'median epoch (s)':>16} | {'images/CPU-s':>12} | {'peak MiB':>8} |")
    rates, cpu_rates = {}, {}
    for side in sides:
        wall = statistics.median(w for w, _ in times[side])
        cpu = statistics.median(c for _, c in times[side])
        rates[side], cpu_rates[side] = n / wall, n / cpu
        peak = peaks[side]
        memory = "-" if peak is None else f"{peak:.0f}"
        print(f"| {side:<18} | {rates[side]:>10,.0f} | {wall:>16.3f} | {cpu_rates[side]:>12,.0f} | {memory:>8} |")
    ours, theirs = "archscale train()", "reference loop"
    print(
        f"ratio archscale / reference: {rates[ours] / rates[theirs]:.2f}x by wall time, "
        f"{cpu_rates[ours] / cpu_rates[theirs]:.2f}x by process CPU time"
    )


def bench_data(device: torch.device) -> None:
    """mnist1d: generation vs the .npz cache vs memory; crop+flip: batched vs per image."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["ARCHSCALE_CACHE"] = cache
        print("\nmnist1d (5,000 signals), load_dataset wall time:")
        for label in ("first call: import mnist1d + generate + write .npz", "later process: read .npz", "same process"):
            if label.startswith("later"):
                mnist1d.arrays.cache_clear()
                registry._LAST.clear()
            start = time.perf_counter()
            load_dataset("mnist1d")
            print(f"  {label:<52} {time.perf_counter() - start:8.3f} s")
    x = torch.randn(256, 3, 32, 32, device=device)
    batched = CropFlip(4, torch.zeros(3, device=device), torch.Generator(device=device).manual_seed(0))
    per_image = PerImageCropFlip(Split(x, torch.zeros(256, dtype=torch.int64, device=device)), 4)
    sides = {
        "CropFlip (batched, on device)": lambda: batched(x),
        "per-image transforms + stack": lambda: torch.stack([per_image[i][0] for i in range(256)]),
    }
    print(f"\ncrop+flip of a 256x3x32x32 batch on {device} (median of 30):")
    for label, run in sides.items():
        times = []
        for _ in range(30):
            start = time.perf_counter()
            run()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        print(f"  {label:<32} {statistics.median(times) * 1e3:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--bf16", action="store_true", help="trainer side: bf16 autocast (CUDA)")
    parser.add_argument("--channels-last", action="store_true", help="trainer side: channels_last (CUDA)")
    parser.add_argument("--workers", type=int, default=0, help="reference side: DataLoader workers")
    parser.add_argument("--case", choices=["digits", "nb201", "data", "all"], default="all")
    parser.add_argument("--digits-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads for both sides")
    parser.add_argument("--nb201-steps", type=int, default=None, help="steps per epoch (default: 2 CPU, 50 CUDA)")
    parser.add_argument("--nb201-batch", type=int, default=256)
    parser.add_argument(
        "--nb201-epochs", type=int, default=None, help="per run, with the warm-up (default 2 CPU, 3 CUDA)"
    )
    parser.add_argument("--nb201-rounds", type=int, default=1, help="runs per side, alternating")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    random.seed(0)
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, "
        f"bf16={args.bf16}, channels_last={args.channels_last}, workers={args.workers}"
    )
    if device.type == "cuda":
        print(f"GPU: {torch.cuda.get_device_name()}")
    if args.case in ("data", "all"):
        bench_data(device)
    cases = []
    if args.case in ("digits", "all"):
        cases.append(digits_case(args.digits_epochs))
    if args.case in ("nb201", "all"):
        cuda = device.type == "cuda"
        steps = args.nb201_steps or (50 if cuda else 2)
        cases += nb201_cases(steps, args.nb201_batch, args.nb201_epochs or (3 if cuda else 2), args.nb201_rounds)
    for case in cases:
        report(case, device, args)


if __name__ == "__main__":
    main()
