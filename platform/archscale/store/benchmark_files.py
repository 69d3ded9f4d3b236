"""Reading a benchmark's published results: NAS-Bench-201's accuracies from a CSV or from NATS-Bench's
topology file (through the official `nats_bench` package, an optional extra), as rows for the store.

- csv: a header naming `arch,dataset,seed,epochs,test_accuracy` (any order; other columns are
  ignored; `dataset` and `epochs` may be left out when the caller gives them). `arch` is a
  NAS-Bench-201 string or digit code. Accuracies are fractions unless some value exceeds 1: then the
  whole file is read as percent.
- nats: NATS-Bench's topology file (`NATS-tss-v1_0-3ffb9.pickle.pbz2`) or its fast-mode folder: every
  cell's test accuracy per seed after 200 (or 12) epochs on cifar10 (trained on train+valid, the test
  set), cifar100 and imagenet16-120 (their x-test halves). Its 200-epoch results are NAS-Bench-201's.

Readers return one `Entry` per line or cell (its rows, or its error) and hand each to `report` as they
go, so a caller can show a bad line at once or stop at it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archscale.errors import UserError

if TYPE_CHECKING:
    from archscale.store.writer import BenchmarkRow

BENCHMARKS = ("nb201",)
FORMATS = ("auto", "csv", "nats")
DATASET_NAMES = {
    "cifar10": "cifar10",
    "cifar-10": "cifar10",
    "cifar100": "cifar100",
    "cifar-100": "cifar100",
    "imagenet16-120": "imagenet16-120",
    "imagenet16": "imagenet16-120",
}
NATS_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}
"""archscale's dataset name → NATS-Bench's."""
NATS_TEST_SETS = {"cifar10": "ori-test", "cifar100": "x-test", "ImageNet16-120": "x-test"}
"""The split NAS-Bench-201 reports as a dataset's test accuracy."""
DEFAULT_NATS_EPOCHS = 200
CSV_COLUMNS = ("arch", "dataset", "seed", "epochs", "test_accuracy")


def dataset_name(text: str) -> str:
    """archscale's name of a benchmark dataset (cifar10, cifar100, imagenet16-120); UserError otherwise."""
    name = DATASET_NAMES.get(text.strip().lower())
    if name is None:
        raise UserError(f"unknown dataset '{text}'; known: cifar10, cifar100, ImageNet16-120")
    return name


@dataclass
class Entry:
    """One line of a CSV or one cell of the benchmark file: where it is, and its rows or its error."""

    where: str
    rows: list[BenchmarkRow] = field(default_factory=list)
    error: str | None = None
    skipped: bool = False


Report = Callable[[Entry], None]
"""Called with every entry as it is read."""


def file_format(path: Path, fmt: str) -> str:
    """csv or nats: `fmt`, or told by the path with `auto`; UserError for a missing path or an unknown format."""
    if fmt not in FORMATS:
        raise UserError(f"unknown --format '{fmt}'; known: {', '.join(FORMATS)}")
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if fmt != "auto":
        return fmt
    name = path.name.lower()
    if path.is_dir() or name.endswith(".pbz2"):
        return "nats"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".pth"):
        raise UserError(
            f"{path}: NAS-Bench-201's .pth files are not read; use NATS-Bench's topology file "
            "(NATS-tss-v1_0-3ffb9.pickle.pbz2, the same 200-epoch results) or a CSV"
        )
    raise UserError(
        f"cannot tell the format of {path}: expected a .csv file, a NATS-Bench topology file (.pickle.pbz2) "
        "or its fast-mode folder; or pass --format csv|nats"
    )


# --- CSV ----------------------------------------------------------------------------------------


def read_csv(
    path: Path, datasets: list[str], epochs: int | None, report: Report, note: Callable[[str], None]
) -> list[Entry]:
    """One entry per data line (see the module docstring); rows of another --dataset/--epochs are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    given = {"dataset": len(datasets) == 1, "epochs": epochs is not None}
    missing = [c for c in CSV_COLUMNS if c not in header and not given.get(c, False)]
    if missing:
        raise UserError(
            f"{path}: the CSV header must name {','.join(CSV_COLUMNS)} (dataset and epochs may come from "
            f"--dataset/--epochs); missing: {', '.join(missing)}"
        )
    parsed: list[tuple[Entry, dict[str, Any]]] = []
    for record in reader:
        entry = Entry(f"line {reader.line_num}")
        try:
            parsed.append((entry, _csv_fields(record, datasets, epochs)))
        except UserError as exc:
            entry.error = str(exc)
            parsed.append((entry, {}))
    accuracies = [f["accuracy"] for _, f in parsed if f]
    percent = any(a > 1 for a in accuracies)
    if percent:
        note(f"{path.name}: test_accuracy read as percent (a value exceeds 1)")
    seen: dict[tuple[str, str, int, int], str] = {}
    source = f"{path.name} (csv)"
    entries = []
    for entry, fields in parsed:
        if fields and not entry.error:
            _csv_row(entry, fields, percent, datasets, epochs, seen, source)
        report(entry)
        entries.append(entry)
    return entries


def _csv_fields(record: dict[str, Any], datasets: list[str], epochs: int | None) -> dict[str, Any]:
    """A CSV record's values, checked one by one (UserError naming the bad cell)."""
    if None in record:
        raise UserError("more cells than the header names")

    def cell(name: str) -> str:
        value = record.get(name)
        if value is None or not value.strip():
            raise UserError(f"{name} is empty")
        return value.strip()

    from archscale.graph import parse_architecture

    arch = parse_architecture(cell("arch"), "nb201")
    data = dataset_name(cell("dataset")) if "dataset" in record else datasets[0]
    return {
        "arch": arch,
        "text": cell("arch"),
        "dataset": data,
        "seed": _integer(cell("seed"), "seed", 0),
        "epochs": _integer(cell("epochs"), "epochs", 1) if "epochs" in record else epochs,
        "accuracy": _number(cell("test_accuracy")),
    }


def _csv_row(
    entry: Entry,
    fields: dict[str, Any],
    percent: bool,
    datasets: list[str],
    epochs: int | None,
    seen: dict[tuple[str, str, int, int], str],
    source: str,
) -> None:
    if (datasets and fields["dataset"] not in datasets) or (epochs is not None and fields["epochs"] != epochs):
        entry.skipped = True
        return
    value, top = fields["accuracy"], 100.0 if percent else 1.0
    if not 0 <= value <= top:
        unit = "a percentage in [0, 100]" if percent else "a fraction in [0, 1] (or percent: see the note)"
        entry.error = f"test_accuracy {value:g} is not {unit}"
        return
    arch = fields["arch"]
    key = (arch.digest(), fields["dataset"], fields["seed"], fields["epochs"])
    if key in seen:
        entry.error = f"the same cell, dataset, seed and epochs as {seen[key]}"
        return
    seen[key] = entry.where
    entry.rows.append(
        _row(arch, fields["text"], fields["dataset"], fields["seed"], fields["epochs"], value / top, source)
    )


def _integer(text: str, name: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name} '{text}' is not an integer") from None
    if value < low:
        raise UserError(f"{name} must be at least {low}, got {value}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise UserError(f"test_accuracy '{text}' is not a number") from None
    if not math.isfinite(value):
        raise UserError(f"test_accuracy '{text}' is not a finite number")
    return value


# --- NATS-Bench ---------------------------------------------------------------------------------


def read_nats(path: Path, datasets: list[str], epochs: int, report: Report) -> list[Entry]:
    """One entry per cell of the benchmark file: its test accuracy per seed on each dataset after
    `epochs` epochs, read through the official `nats_bench` API."""
    try:
        import nats_bench
    except ImportError:
        raise UserError(
            "reading NATS-Bench's topology file needs its official API package: pip install 'archscale[benchmarks]'"
        ) from None
    fast = path.is_dir()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            api = nats_bench.create(str(path), "tss", fast_mode=fast, verbose=False)
    except Exception as exc:  # the package raises assorted errors for a file that is not its own
        raise UserError(f"{path}: not a NATS-Bench topology file ({type(exc).__name__}: {exc})") from None
    hp = str(epochs)
    if not fast and hp not in api.avaliable_hps:
        known = ", ".join(sorted(api.avaliable_hps, key=lambda h: int(h) if h.isdigit() else 0))
        raise UserError(f"{path} has results for epochs {known}, not {epochs} (--epochs)")
    source = f"{path.name} (nats_bench {nats_bench.version()})"
    entries = []
    for index in range(len(api)):
        entry = Entry(f"cell {index}")
        try:
            entry.rows = _nats_rows(api, index, hp, datasets, epochs, source)
        except Exception as exc:  # a bad cell is reported and skipped, never fatal
            entry.error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        report(entry)
        entries.append(entry)
    return entries


def _nats_rows(api: Any, index: int, hp: str, datasets: list[str], epochs: int, source: str) -> list[BenchmarkRow]:
    from archscale.graph import parse_architecture

    text = api.arch(index)
    arch = parse_architecture(text, "nb201")
    with contextlib.redirect_stdout(io.StringIO()):
        info = api.query_meta_info_by_index(index, hp)
    rows = []
    for name in datasets:
        theirs = NATS_DATASETS[name]
        if theirs not in info.get_dataset_names():
            raise UserError(f"{text}: no {epochs}-epoch results on {theirs}")
        for seed in info.get_dataset_seeds(theirs):
            percent = float(info.get_metrics(theirs, NATS_TEST_SETS[theirs], is_random=seed)["accuracy"])
            if not 0 <= percent <= 100:
                raise UserError(f"{text}: test accuracy {percent:g}% on {theirs} (seed {seed}) is not a percentage")
            rows.append(_row(arch, text, name, int(seed), epochs, percent / 100, source))
    return rows


# --- shared -------------------------------------------------------------------------------------


def _row(arch: Any, text: str, dataset: str, seed: int, epochs: int, accuracy: float, source: str) -> BenchmarkRow:
    """A row to store; the notation is the benchmark's own string (the canonical one for digit codes)."""
    from archscale.store.writer import BenchmarkRow

    notation = text if text.startswith("|") else arch.notation
    return BenchmarkRow(arch.digest(), notation, arch.family.value, dataset, seed, epochs, accuracy, source)
