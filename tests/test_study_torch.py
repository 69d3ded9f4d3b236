"""A `family: torch` study: variants of a user's module (importable from the current directory) under
principled, tuned and fixed arms, end to end on embedded Ray into SQLite."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from archscale.errors import UserError
from archscale.execution.study_setup import check
from archscale.study.load import parse_study

HERE = Path(__file__).parent
TINY_TORCH = """\
name: tiny-torch
dataset: {name: mnist1d, limit: 200, test_limit: 100, val_fraction: 0.25}
model: {family: torch, factory: "plain_nets:skip_mlp", args: {width: 16}}
architectures:
  - {name: shallow, args: {blocks: 0}}
  - {args: {blocks: 2}}
training: {epochs: 1, batch_size: 32}
seeds: [0]
search: {trials: 1, low: 0.01, high: 1.0}
strategies:
  principled: {}
  fixed: {lr: 0.05}
  tuned: {}
"""


def context(text: str):
    return check("t", parse_study(text, "study.yaml", []), Console(quiet=True))


def test_variants_are_traced_named_and_the_shallowest_is_the_base(monkeypatch):
    monkeypatch.chdir(HERE)
    ctx = context(TINY_TORCH)
    archs = {i.arch.short: i for i in ctx.archs.values()}
    assert list(archs) == ["shallow", "skip_mlp(blocks=2)"]
    assert archs["shallow"].is_base and archs["shallow"].scale.stats.S == 27
    assert archs["skip_mlp(blocks=2)"].scale.lr_factor == pytest.approx((27 / 280) ** 0.5)
    named = context(TINY_TORCH.replace("principled: {}", "principled: {base: skip_mlp(blocks=2)}"))
    assert [i.arch.short for i in named.bases()] == ["skip_mlp(blocks=2)"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("principled: {}", "principled: {base: deep}"), "base 'deep' is not one of the study's architectures"),
        (("  - {args: {blocks: 2}}", '  - "2_02"'), "architectures[1]: a torch model's architectures are {name, args}"),
        (('factory: "plain_nets:skip_mlp", ', ""), "factory is required with family torch"),
        (("plain_nets:skip_mlp", "plain_nets:gated"), "unsupported op mul of two tensors"),
    ],
)
def test_a_bad_torch_study_is_a_user_error(monkeypatch, change, message):
    monkeypatch.chdir(HERE)
    with pytest.raises(UserError) as error:
        context(TINY_TORCH.replace(*change))
    assert message in str(error.value)


def test_unsupported_ignore_is_stated_when_the_study_is_checked_and_for_its_reports(monkeypatch):
    monkeypatch.chdir(HERE)
    text = TINY_TORCH.replace("plain_nets:skip_mlp", "plain_nets:gated").replace("{width: 16}", "{}")
    console = Console(record=True, width=300)
    ctx = check("t", parse_study(text.replace("model: {", "model: {unsupported: ignore, "), "s.yaml", []), console)
    assert "depth-neutral by model.unsupported: ignore: mul of two tensors" in console.export_text()
    assert "treated as depth-neutral" in str(ctx.spec.model.caveat())
    assert context(TINY_TORCH).spec.model.caveat() is None


@pytest.mark.slow
def test_a_torch_study_runs_principled_tuned_and_fixed_end_to_end(tmp_path):
    study = tmp_path / "torch.yaml"
    study.write_text(TINY_TORCH)
    db = tmp_path / "results.db"
    done = subprocess.run(
        [sys.executable, "-m", "archscale.cli", "run", str(study), "--db", f"sqlite:///{db}", "--no-compare"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=HERE,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(db) as connection:
        counts = dict(
            ((phase, arm), n)
            for phase, arm, n in connection.execute("select phase, arm, count(*) from archscale_trial group by 1, 2")
        )
        names = [n for (n,) in connection.execute("select notation from archscale_architecture order by id")]
        lrs = dict(connection.execute("select architecture_id, lr from archscale_choice where arm = 'principled'"))
    assert counts == {
        ("base-search", "principled"): 1,
        ("search", "tuned"): 2,
        ("final", "fixed"): 2,
        ("final", "principled"): 2,
        ("final", "tuned"): 2,
    }
    assert names == ["shallow", "skip_mlp(blocks=2)"]
    assert lrs[2] / lrs[1] == pytest.approx((27 / 280) ** 0.5)
