"""`archscale model`: JSON and table output, stdin input, defaults, batches that never stop at one line,
and one-line user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from archscale.cli.app import app, main
from archscale.errors import UserError

NB201_TOP = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

runner = CliRunner()


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_json_record_of_the_nb201_reference_cell():
    result = runner.invoke(app, ["model", NB201_TOP, "--json"])
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert record["params"] == 1_288_506
    assert record["family"] == "nb201" and record["width"] == 16 and record["cells"] == 5
    assert record["input_shape"] == [3, 32, 32] and record["notation"] == NB201_TOP
    assert record["flops"] > 0 and record["arch"] == NB201_TOP and record["status"] == "ok"


def test_channels_cells_and_stdin_lines():
    result = runner.invoke(
        app, ["model", "--family", "nb201", "--channels", "8", "--cells", "1", "--json"], input="3_33_133\n\n# x\n"
    )
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert record["params"] == 79_778 and record["width"] == 8 and record["cells"] == 1


def test_dag_families_defaults_and_shapes():
    result = runner.invoke(
        app,
        ["model", "2_02_002", "2_22_222", "--family", "cnn", "--input-shape", "3x8x8", "--kernel-size", "5", "--json"],
    )
    assert result.exit_code == 0, result.output
    first, second = records(result.stdout)
    assert first["input_shape"] == [3, 8, 8] and first["kernel_size"] == 5 and first["cells"] is None
    assert first["width"] == 32 and second["params"] > first["params"]
    mlp = records(runner.invoke(app, ["model", "2_02", "--json", "--width", "4", "--classes", "3"]).stdout)[0]
    assert mlp["input_shape"] == [1, 40] and mlp["params"] == (40 * 4 + 4) + (4 * 4 + 4) * 2 + (4 * 3 + 3)
    assert mlp["flops"] == 2 * (40 * 4 + 2 * 4 * 4 + 4 * 3)


def test_table_output():
    result = runner.invoke(app, ["model", "3_33_133", "--channels", "8", "--cells", "2", "--batch-norm"])
    assert result.exit_code == 0, result.output
    for text in ("nb201", "cells.0–1", "Cell ×2", "ReductionBlock", "classifier", "parameters", "FLOPs per sample"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "0_00_000"], "has no input→output path"),
        (["model", "2_02", "--input-shape", "3xx2"], "--input-shape '3xx2'"),
        (["model", "2_02", "9_99", "--json", "--strict"], "line 2: "),
        (["model", "3_33_133", "--input-shape", "1x40"], "divisible by 4"),
        (["model", "2_02", "--family", "rnn"], "unknown family 'rnn'"),
        (["model"], "no architecture given"),
    ],
)
def test_user_errors(args, message):
    result = runner.invoke(app, args)
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


SMALL_NB201 = ["--family", "nb201", "--channels", "4", "--cells", "1"]


def test_a_batch_reports_every_line_and_counts_on_stderr():
    lines = "3_33_133\n0_00_000\n9_99\n0_10_331\n"
    result = runner.invoke(app, ["model", *SMALL_NB201, "--json"], input=lines)
    assert result.exit_code == 0, result.output
    ok, no_path, error, dead_node = records(result.stdout)
    assert [r["status"] for r in (ok, no_path, error, dead_node)] == ["ok", "no-path", "error", "ok"]
    assert no_path["params"] > 0 and no_path["flops"] > 0 and no_path["arch"] == "0_00_000"
    assert error == {
        "arch": "9_99",
        "line": 3,
        "status": "error",
        "error": "NAS-Bench-201 code '9_99': digit 9 in group 1 is not an op (0..4)",
    }
    assert result.stderr.strip().splitlines() == ["archscale: 4 lines: 2 ok, 1 no-path, 1 error"]


def test_a_batch_of_good_lines_is_quiet_and_strict_accepts_no_path_cells():
    result = runner.invoke(app, ["model", "3_33_133", "0_00_000", *SMALL_NB201, "--json", "--strict"])
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in records(result.stdout)] == ["ok", "no-path"]
    assert result.stderr.strip().splitlines() == ["archscale: 2 lines: 1 ok, 1 no-path"]
    quiet = runner.invoke(app, ["model", "3_33_133", "1_11_111", *SMALL_NB201, "--json"])
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_a_table_batch_goes_on_past_a_bad_line():
    result = runner.invoke(app, ["model", "9_99", "0_00_000", *SMALL_NB201])
    assert result.exit_code == 0, result.output
    assert "no input→output path: the output is constant" in " ".join(result.stdout.split())
    assert result.stderr.strip().splitlines() == [
        "archscale: line 1: NAS-Bench-201 code '9_99': digit 9 in group 1 is not an op (0..4)",
        "archscale: 2 lines: 1 no-path, 1 error",
    ]


def test_a_single_nb201_cell_without_a_path_is_built():
    result = runner.invoke(app, ["model", "0_00_030", *SMALL_NB201, "--json"])
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert record["status"] == "no-path" and record["params"] > 0
    assert result.stderr == ""


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """The console entry point in-process: its exit status."""
    monkeypatch.setattr(sys, "argv", ["archscale", *args])
    with pytest.raises(SystemExit) as done:
        main()
    return int(done.value.code or 0)


def test_user_error_is_one_line_and_exit_status_2(monkeypatch, capsys):
    assert run_main(monkeypatch, "model", "0_02_002") == 2
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        "archscale: error: architecture '0_02_002' has no input→output path; its output would not depend on the input"
    ]
    assert out == ""


def test_strict_stops_at_the_first_bad_line_with_one_line_and_exit_status_2(monkeypatch, capsys):
    assert run_main(monkeypatch, "model", "3_33_133", "9_99", "0_00_000", *SMALL_NB201, "--json", "--strict") == 2
    out, err = capsys.readouterr()
    assert [r["status"] for r in records(out)] == ["ok"]
    assert err.strip().splitlines() == [
        "archscale: error: line 2: NAS-Bench-201 code '9_99': digit 9 in group 1 is not an op (0..4)"
    ]


def test_cli_start_up_does_not_import_torch():
    code = "import sys, archscale.cli.app; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"


def test_torch_module_parameters_and_flops(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    result = runner.invoke(app, ["model", "--torch", "plain_nets:skip_mlp", "--args", '{"blocks": 2}', "--json"])
    assert result.exit_code == 0, result.output
    (record,) = records(result.stdout)
    assert record["params"] == (40 * 16 + 16) + 2 * (16 * 16 + 16) + (16 * 10 + 10)
    assert record["flops"] == 2 * (40 * 16 + 2 * 16 * 16 + 16 * 10) and record["input_shape"] == [40]
    assert record["family"] == "mlp" and record["args"] == {"blocks": 2}
    table = runner.invoke(app, ["model", "--torch", "plain_nets:skip_mlp"])
    assert "hidden.0" in table.stdout and "parameters" in table.stdout


def test_torch_module_errors_are_one_line_and_exit_status_2(monkeypatch, capsys):
    monkeypatch.chdir(Path(__file__).parent)
    dag = '{"dag": "2", "kind": "cnn", "inputs": [1, 6, 6]}'
    assert run_main(monkeypatch, "model", "--torch", "plain_nets:dag_net", "--args", dag) == 2
    assert "give --input-shape" in capsys.readouterr().err
    assert run_main(monkeypatch, "model", "--torch", "plain_nets:skip_mlp", "--input-shape", "3x4") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fails on input shape [3, 4]" in err
