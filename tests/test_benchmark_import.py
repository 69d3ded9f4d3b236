"""`archscale benchmark import nb201 FILE`: a CSV and NATS-Bench's own file formats (written with the
official `nats_bench` classes, read by its real loader), idempotent re-imports, batches that never stop
at one bad line, --strict, and one-line errors that write nothing."""

from __future__ import annotations

import os
import sys

import pytest

from archscale.cli.app import main
from archscale.graph import parse_architecture
from archscale.store import read_benchmark

CELL_A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
CELL_B = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
CELL_C = "3_33_133"
CSV = f"""arch,dataset,seed,epochs,test_accuracy
{CELL_A},cifar10,777,200,93.5
{CELL_A},CIFAR-10,888,200,93.25
{CELL_B},cifar10,777,200,60
{CELL_C},ImageNet16-120,777,200,45.5
"""


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`archscale ARGS` through the console entry point: (exit status, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["archscale", *args])
    code = 0
    try:
        main()
    except SystemExit as done:
        code = int(done.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'results.db'}"


def write(tmp_path, text: str, name: str = "nb201.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_csv_in_percent_and_a_second_import_changes_nothing(monkeypatch, capsys, tmp_path, db):
    path = write(tmp_path, CSV)
    code, out, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db)
    assert code == 0, err
    assert "read as percent" in err and "4 lines: 4 ok" in err
    assert "stored 4 nb201 results (3 cells;" in out
    frame = read_benchmark(db, "nb201", "cifar10")
    assert list(frame["architecture"]) == [CELL_A, CELL_A, CELL_B]
    assert list(frame["seed"]) == [777, 888, 777] and set(frame["epochs"]) == {200}
    assert list(frame["test_accuracy"]) == pytest.approx([0.935, 0.9325, 0.60])
    assert set(frame["source"]) == {"nb201.csv (csv)"}
    imagenet = read_benchmark(db, "nb201", "imagenet16-120")
    assert imagenet["architecture"].tolist() == [parse_architecture(CELL_C, "nb201").notation]  # codes: canonical
    assert read_benchmark(db, "nb201", "cifar100").empty

    code, _, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db)
    assert code == 0, err
    again = read_benchmark(db, "nb201", "cifar10")
    assert len(again) == 3 and list(again["test_accuracy"]) == list(frame["test_accuracy"])


def test_fractions_and_missing_columns_from_the_options(monkeypatch, capsys, tmp_path, db):
    path = write(tmp_path, f"arch,seed,test_accuracy\n{CELL_A},0,0.91\n{CELL_B},0,0.42\n")
    args = ("benchmark", "import", "nb201", str(path), "--db", db, "--dataset", "cifar100", "--epochs", "12")
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 0 and "percent" not in err
    frame = read_benchmark(db, "nb201", "cifar100", epochs=12)
    assert list(frame["test_accuracy"]) == pytest.approx([0.91, 0.42])


def test_a_bad_line_is_reported_and_the_rest_imported(monkeypatch, capsys, tmp_path, db):
    bad = (
        CSV + "not-a-cell,cifar10,777,200,90\n" + f"{CELL_B},cifar10,888,200,abc\n" + f"{CELL_B},cifar10,999,200,101\n"
    )
    path = write(tmp_path, bad)
    code, _out, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db)
    assert code == 0
    assert "archscale: line 6: " in err and "archscale: line 7: test_accuracy 'abc' is not a number" in err
    assert "archscale: line 8: test_accuracy 101 is not a percentage in [0, 100]" in err
    assert "7 lines: 4 ok, 3 error" in err and "Traceback" not in err
    assert len(read_benchmark(db, "nb201", "cifar10")) == 3


def test_strict_stops_at_the_first_bad_line_and_writes_nothing(monkeypatch, capsys, tmp_path, db):
    path = write(tmp_path, CSV + f"{CELL_B},cifar10,888,200,-3\n")
    code, out, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db, "--strict")
    assert code == 2 and out == ""
    (line,) = [x for x in err.splitlines() if x.startswith("archscale: error:")]
    assert (
        line
        == "archscale: error: line 6: test_accuracy -3 is not a percentage in [0, 100] (--strict: nothing imported)"
    )
    assert not (tmp_path / "results.db").exists()


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("missing.csv", (), "missing.csv: no such file or folder"),
        ("data.txt", (), "cannot tell the format of"),
        ("nb201.csv", ("--format", "xlsx"), "unknown --format 'xlsx'; known: auto, csv, nats"),
        ("nb201.csv", ("--dataset", "mnist"), "unknown dataset 'mnist'"),
        ("NAS-Bench-201-v1_1-096897.pth", (), "NAS-Bench-201's .pth files are not read"),
        ("header.csv", (), "the CSV header must name arch,dataset,seed,epochs,test_accuracy"),
    ],
)
def test_user_errors_are_one_line_and_write_nothing(monkeypatch, capsys, tmp_path, db, name, args, message):
    if name != "missing.csv":
        write(tmp_path, CSV if name != "header.csv" else "arch,accuracy\nx,1\n", name)
    code, out, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(tmp_path / name), "--db", db, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "results.db").exists()


def test_an_unknown_benchmark(monkeypatch, capsys, tmp_path, db):
    code, _, err = run(monkeypatch, capsys, "benchmark", "import", "nb101", str(write(tmp_path, CSV)), "--db", db)
    assert code == 2 and "unknown benchmark 'nb101'; known: nb201" in err


# --- NATS-Bench's own format --------------------------------------------------------------------


@pytest.fixture(scope="module")
def nats():
    try:
        from nats_bench import api_utils
    except ImportError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but nats_bench cannot be imported ({exc}); tests/run.sh installs it", pytrace=False)
        pytest.skip(f"nats_bench (the optional extra `benchmarks`) is not installed ({exc})")
    return api_utils


def arch_results(api_utils, index: int, arch: str, epochs: int, accuracy: float) -> dict:
    """An ArchResults state as NATS-Bench stores it: two seeds per dataset, `accuracy` (+1 for seed 888)
    on every evaluated split at every epoch; cifar10 reports `ori-test`, the others `x-test`."""
    results = api_utils.ArchResults(index, arch)
    for dataset, split in (("cifar10", "ori-test"), ("cifar100", "x-test"), ("ImageNet16-120", "x-test")):
        for k, seed in enumerate((777, 888)):
            run = api_utils.ResultsCount(
                dataset,
                None,
                dict.fromkeys(range(epochs), 50.0),
                dict.fromkeys(range(epochs), 1.0),
                1.0,
                10.0,
                {"arch_str": arch, "channel": 16, "num_cells": 5, "class_num": 10},
                seed,
                epochs,
                None,
            )
            names = [split, "x-valid"] if split == "x-test" else [split]
            accs = {f"{name}@{i}": accuracy + k for name in names for i in range(epochs)}
            run.update_eval(accs, dict.fromkeys(accs, 1.0), dict.fromkeys(accs, 0.1))
            results.update(dataset, seed, run)
    return results.state_dict()


@pytest.fixture
def nats_files(nats, tmp_path):
    """The benchmark as one file (`tss.pickle.pbz2`) and as a fast-mode folder (`simple/`), written with
    nats_bench's own `pickle_save`; cell 2's fast-mode file is missing (a bad entry)."""
    archs = [CELL_A, CELL_B, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    infos = {
        i: {"200": arch_results(nats, i, a, 3, 90.0 + i), "12": arch_results(nats, i, a, 2, 60.0 + i)}
        for i, a in enumerate(archs)
    }
    nats.pickle_save(
        {"meta_archs": archs, "arch2infos": infos, "evaluated_indexes": [0, 1, 2]}, tmp_path / "tss.pickle"
    )
    folder = tmp_path / "simple"
    folder.mkdir()
    nats.pickle_save({"meta_archs": archs}, folder / "meta.pickle")
    for i in (0, 1):
        nats.pickle_save(infos[i], folder / f"{i:06d}.pickle")
    return tmp_path / "tss.pickle.pbz2", folder


def test_the_nats_bench_file(monkeypatch, capsys, db, nats_files):
    path, _ = nats_files
    code, out, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db)
    assert code == 0, err
    assert "3 cells: 3 ok" in err and "stored 18 nb201 results" in out
    frame = read_benchmark(db, "nb201", "cifar10")
    assert list(frame["architecture"][:2]) == [CELL_A, CELL_A] and list(frame["seed"][:2]) == [777, 888]
    assert list(frame["test_accuracy"]) == pytest.approx([0.90, 0.91, 0.91, 0.92, 0.92, 0.93])
    assert set(frame["epochs"]) == {200} and set(frame["source"]) == {"tss.pickle.pbz2 (nats_bench v1.8)"}
    assert len(read_benchmark(db, "nb201", "imagenet16-120")) == 6
    code, _, err = run(monkeypatch, capsys, "benchmark", "import", "nb201", str(path), "--db", db, "--epochs", "90")
    assert code == 2 and "has results for epochs 12, 200, not 90 (--epochs)" in err


def test_the_fast_mode_folder_with_a_missing_cell(monkeypatch, capsys, db, nats_files):
    _, folder = nats_files
    args = ("benchmark", "import", "nb201", str(folder), "--db", db, "--epochs", "12", "--dataset", "cifar100")
    code, _out, err = run(monkeypatch, capsys, *args)
    assert code == 0
    assert "archscale: cell 2: " in err and "3 cells: 2 ok, 1 error" in err
    frame = read_benchmark(db, "nb201", "cifar100", epochs=12)
    assert list(frame["test_accuracy"]) == pytest.approx([0.60, 0.61, 0.61, 0.62])
    assert read_benchmark(db, "nb201", "cifar10").empty
    code, _, err = run(monkeypatch, capsys, *args, "--strict")
    assert code == 2 and "archscale: error: cell 2: " in err
