"""`archscale lr` as a user runs it: a real process, real exit codes, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ARCHSCALE = [sys.executable, "-m", "archscale.cli"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHSCALE, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_single_architecture_table():
    result = run("lr", "3_33_133", "--base-lr", "0.46")
    assert result.returncode == 0, result.stderr
    assert "0.0421681" in result.stdout and "nb201" in result.stdout


def test_json_batch_from_stdin_keeps_order_and_reports_each_line():
    result = run("lr", "--json", stdin="2_02_002\n\n# comment\nnot-an-arch\n0_02_002_0002\n3_33_133\n")
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["arch"] for r in records] == ["2_02_002", "not-an-arch", "0_02_002_0002", "3_33_133"]
    assert [r["status"] for r in records] == ["ok", "error", "no-path", "ok"]
    assert records[0]["lr"] == pytest.approx(0.353553, abs=5e-7)
    assert records[1]["line"] == 4 and "cannot read architecture" in records[1]["error"]
    assert records[2]["lr"] is None
    for key in ("arch", "family", "convention", "paths", "S", "scale", "lr", "status"):
        assert key in records[0]
    assert "1 of 4 lines could not be read" in result.stderr


def test_strict_stops_at_the_first_malformed_line():
    result = run("lr", "--json", "--strict", stdin="2\n2_2\n2_02\n")
    assert result.returncode == 2
    assert result.stdout.count("\n") == 1
    assert result.stderr.strip().endswith("must have 2 digits, one per edge into node 2")
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lr", "0_04_002"], "has no input→output path"),
        (["lr", "2_2"], "group 2 ('2') must have 2 digits"),
        (["lr", "2", "--family", "resnet"], "unknown family 'resnet'"),
        (["lr", "2", "--convention", "mup"], "unknown convention 'mup'"),
        (["lr", "2", "--base-lr", "0"], "--base-lr must be positive"),
        (["lr", "--file", "/nonexistent/archs.txt"], "cannot read /nonexistent/archs.txt"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_file_paper_convention_base_and_cnn(tmp_path: Path):
    archs = tmp_path / "archs.txt"
    archs.write_text("2_02_002_0002\n2_22_222_2222\n")
    result = run("lr", "--file", str(archs), "--json", "--convention", "paper")
    assert [json.loads(x)["scale"] for x in result.stdout.splitlines()] == pytest.approx([0.089443, 0.049629], abs=5e-7)
    based = json.loads(run("lr", "2_02_002_0002", "--base", "2_02_002", "--json").stdout)
    assert based["scale"] == pytest.approx((216 / 343) ** 0.5)
    cnn = json.loads(run("lr", "2_22_222", "--family", "cnn", "--kernel-size", "5", "--json").stdout)
    assert cnn["lr"] == pytest.approx(0.135424, abs=5e-7) and cnn["kernel_factor"] == pytest.approx(0.6)


def test_explain_lists_paths_degrees_and_init():
    result = run("lr", "2_10_011_0001", "--explain", "--width", "512")
    assert result.returncode == 0
    for text in ("0→1→3→4", "0→2→3→4", "in-degrees of nodes 0..4: [1, 1, 1, 2, 1]", "0.06250"):
        assert text in result.stdout


def test_large_batch_runs_in_parallel_and_in_order():
    lines = [f"2_{a}{b}_002" for a in "012" for b in "012"] * 2500
    result = run("lr", "--json", stdin="\n".join(lines))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["arch"] for r in records] == lines


@pytest.mark.parametrize(
    ("arch", "family", "kernel"),
    [("2_22_222_2222", "mlp", 3), ("0_02", "mlp", 3), ("2_02", "cnn", 5), ("0_04_002", "nb201", 3)],
)
def test_json_lines_are_exactly_what_json_dumps_writes(arch, family, kernel):
    from archscale.cli.lr import scale_json
    from archscale.graph import parse_architecture
    from archscale.principles import lr_scale

    text = scale_json(lr_scale(parse_architecture(arch, family, kernel)), 0.46, f'{arch} "quoted"')
    record = json.loads(text)
    assert json.dumps(record) == text
    assert record["arch"] == f'{arch} "quoted"' and record["base_lr"] == 0.46


def run_here(*args: str) -> subprocess.CompletedProcess[str]:
    """`archscale` run in tests/, whose plain_nets module a --torch factory imports from the current directory."""
    return subprocess.run([*ARCHSCALE, *args], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parent)


def test_torch_module_gives_the_digit_strings_numbers_and_explains_them():
    dag = json.dumps({"dag": "2_10_011_0001"})
    ours = json.loads(run_here("lr", "--torch", "plain_nets:dag_net", "--args", dag, "--json").stdout)
    theirs = json.loads(run("lr", "2_10_011_0001", "--json").stdout)
    assert {k: ours[k] for k in theirs if k != "arch"} == {k: v for k, v in theirs.items() if k != "arch"}
    assert ours["factory"] == "plain_nets:dag_net" and ours["unsupported"] == "error" and ours["ignored"] == []
    explained = run_here("lr", "--torch", "plain_nets:skip_mlp", "--args", '{"blocks": 2}', "--explain").stdout
    for text in ("stem → hidden.0 → hidden.1 → head", "S = Σ L_p³ = 280", "paper: L_p = 1", "unsupported ops (error)"):
        assert text in explained


def test_torch_unsupported_ops_fail_in_one_line_unless_ignored():
    failed = run_here("lr", "--torch", "plain_nets:gated")
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert "unsupported op mul of two tensors (gating or attention) at node 'mul'" in failed.stderr
    ignored = json.loads(run_here("lr", "--torch", "plain_nets:gated", "--unsupported", "ignore", "--json").stdout)
    assert ignored["unsupported"] == "ignore" and ignored["ignored"][0].startswith("mul of two tensors")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--torch", "plain_nets:skip_mlp", "--args", "{bad"], "--args is not valid JSON"),
        (["--torch", "plain_nets:skip_mlp", "--args", '{"depth": 3}'], "unexpected keyword argument 'depth'"),
        (["--torch", "no_such_pkg.nets:resnet"], "cannot import 'no_such_pkg.nets'"),
        (["--torch", "plain_nets.skip_mlp"], "must read package.module:callable"),
        (["--torch", "plain_nets:data_dependent"], "torch.fx cannot trace data_dependent()"),
        (["2_02", "--torch", "plain_nets:skip_mlp"], "give architectures or --torch, not both"),
    ],
)
def test_torch_user_errors_are_one_line_exit_2(args, message):
    result = run_here("lr", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
