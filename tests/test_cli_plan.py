"""`archscale plan`: a study's runs, Ray trials, epoch rows, device-hours and database size before it
runs, checked against counts made here by hand and FLOPs counted on models built here."""

from __future__ import annotations

import json
import random

import pytest

STUDY = """\
name: plan-small
dataset: {name: digits, limit: 200, test_limit: 100, val_fraction: 0.2}
model: {family: mlp, width: 16}
architectures: ["1", "2_02"]
training: {epochs: 3, batch_size: 64}
seeds: [0, 1]
search: {trials: 4, early_stopping: {grace_epochs: 1}}
strategies:
  principled: {}
  tuned: {}
  fixed: {lr: 0.05}
"""


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    return path


def test_the_plan_counts_what_a_hand_count_gives(cli, study):
    code, out, err = cli("plan", str(study), "--json")
    assert code == 0, err
    plan = json.loads(out)
    phases = {(p["phase"], p["arm"]): p for p in plan["phases"]}
    # searches: the base-LR search (principled) on the base network "1", and tuned on each of 2 architectures,
    # 4 TPE trials each: 1 random start-up trial, then rounds of 1, so 4 Ray trials per search
    assert phases["base-search", "principled"]["runs"] == 4 and phases["base-search", "principled"]["ray_trials"] == 4
    assert phases["search", "tuned"]["runs"] == 8 and phases["search", "tuned"]["ray_trials"] == 8
    # finals: every arm × 2 architectures × 2 seeds, one pack per architecture and arm
    for arm in ("principled", "tuned", "fixed"):
        assert phases["final", arm]["runs"] == 4 and phases["final", arm]["rows"] == 4
        assert phases["final", arm]["ray_trials"] == 2
    total = plan["total"]
    assert total["runs"] == 24 and total["ray_trials"] == 18
    assert total["epoch_rows"] == 24 * 3
    # ASHA (grace 1, factor 3, 3 epochs): the first trial of a search runs 3 epochs; each later one 1
    # epoch, then 2 more with probability 1/3: 3 + 3 × 5/3 = 8 epochs per search
    assert total["epoch_rows_expected"] == 3 * 8 + 12 * 3
    assert [(s["label"], s["arms"], s["searches"]) for s in plan["searches"]] == [
        ("base-search", ["principled"], 1),
        ("tuned", ["tuned"], 2),
    ]


def test_a_simulated_plan_counts_the_ray_trials_a_simulated_run_packs(cli, study):
    """`--simulate`: the 3 searches' rounds (1 random trial, then 3 rounds of 1) advance together, one pack
    per round: 4 Ray trials for the 12 search runs; the final runs of an arm that come from one search
    share a pack across architectures: principled and fixed (the base search) one each, tuned one per search."""
    code, out, err = cli("plan", str(study), "--json", "--simulate")
    assert code == 0, err
    plan = json.loads(out)
    phases = {(p["phase"], p["arm"]): p["ray_trials"] for p in plan["phases"]}
    assert phases["base-search", "principled"] + phases["search", "tuned"] == pytest.approx(4)
    assert (phases["final", "principled"], phases["final", "tuned"], phases["final", "fixed"]) == (1, 2, 1)
    assert plan["simulated"] and plan["total"]["ray_trials"] == 8 and plan["total"]["runs"] == 24


def model_of(notation: str, splits):
    from archscale.graph import parse_architecture
    from archscale.nn import build_model

    return build_model(parse_architecture(notation, "mlp"), classes=10, input_shape=splits.input_shape, width=16)


def test_forward_counts_are_the_modules_torch_fx_finds_in_the_forward():
    """`forward_counts`' calls (forward hooks) against the call_module nodes of torch.fx's trace of the same model."""
    import torch
    from torch import fx

    from archscale.graph import parse_architecture
    from archscale.nn import build_model, forward_counts

    for notation, family, shape in [("2_02", "mlp", (64,)), ("2_22_212", "mlp", (64,)), ("2_12_222", "cnn", (3, 8, 8))]:
        model = build_model(parse_architecture(notation, family), classes=10, input_shape=shape, width=4)
        called = [model.get_submodule(n.target) for n in fx.symbolic_trace(model).graph.nodes if n.op == "call_module"]
        counts = forward_counts(model, shape)
        assert counts.calls == len(called)
        weights = (torch.nn.Linear, torch.nn.Conv2d)
        assert counts.weight_calls == sum(isinstance(m, weights) for m in called)
        assert counts.convolutional == (family == "cnn")


def test_device_hours_are_flops_over_the_measured_throughput_plus_the_steps_fixed_cost(cli, study):
    from archscale.data import load_dataset
    from archscale.execution.estimate import DEVICES
    from archscale.nn import count_flops, forward_counts

    plan = json.loads(cli("plan", str(study), "--json")[1])
    splits = load_dataset("digits", limit=200, test_limit=100, val_fraction=0.2)
    flops = {notation: count_flops(model_of(notation, splits), splits.input_shape) for notation in ("1", "2_02")}
    per_epoch = {a: f * (3 * len(splits.train) + len(splits.val) + len(splits.test)) for a, f in flops.items()}
    epochs_final = 3 * 2 * 3  # 3 epochs × 2 seeds × 3 arms
    total = epochs_final * sum(per_epoch.values()) + 8 * per_epoch["1"] + 8 * sum(per_epoch.values())
    assert plan["total"]["flops"] == pytest.approx(total)
    assert plan["forward_flops_per_sample"] == {"min": min(flops.values()), "max": max(flops.values())}
    # the steps' fixed cost: ⌈160 / 64⌉ = 3 SGD steps per epoch and a third of a step for each of the two
    # evaluation batches (40 val, 100 test examples); per architecture its epochs of packs: "1" has 3 final
    # packs (one per arm) × 3 epochs and two searches of 8 expected epochs, "2_02" 3 × 3 and one search
    per_epoch = 3 + 2 / 3
    pack_epochs = {"1": 3 * 3 + 2 * 8, "2_02": 3 * 3 + 8}
    assert plan["total"]["pack_steps"] == pytest.approx(per_epoch * sum(pack_epochs.values()))
    for device in DEVICES:
        fixed = sum(
            per_epoch * epochs * device.step_seconds(forward_counts(model_of(notation, splits), splits.input_shape))
            for notation, epochs in pack_epochs.items()
        )
        expected = (total / device.flops_per_second + fixed) / 3600
        assert plan["total"]["device_hours"][device.name] == pytest.approx(expected)
        assert (fixed > 0) == (device.name == "cpu")  # the GPUs' fixed costs are not measured: FLOP floors


def test_the_json_has_every_field_an_operator_needs(cli, study):
    plan = json.loads(cli("plan", str(study), "--json")[1])
    assert {"study", "architectures", "seeds", "dataset", "phases", "searches", "total", "devices", "formula"} <= set(
        plan
    )
    row_fields = {"phase", "arm", "runs", "rows", "ray_trials", "epoch_rows", "epoch_rows_expected", "device_hours"}
    assert all(row_fields <= set(p) for p in plan["phases"])
    assert isinstance(plan["total"]["database_bytes"], int) and plan["total"]["database_bytes"] > 0
    assert {d["name"]: d["measured"] for d in plan["devices"]} == {"cpu": True, "a100": False, "h100": False}
    assert all("assumed" in d["source"] for d in plan["devices"] if not d["measured"])


def test_the_table_ends_with_the_line_that_run_prints(cli, study):
    code, out, _ = cli("plan", str(study))
    assert code == 0
    assert "Runs per phase and arm" in out and out.strip().splitlines()[-1].startswith("plan: 24 runs")


def test_a_bad_yaml_exits_2_with_one_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(STUDY.replace("epochs: 3", "epochs: -3"))
    code, out, err = cli("plan", str(bad))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "training.epochs" in err


def test_nb201_flops_are_counted_once_per_kind_of_cell_and_agree_with_a_built_model():
    from rich.console import Console

    from archscale.execution.estimate import DatasetFacts, forward_costs
    from archscale.execution.study_setup import check
    from archscale.graph import parse_architecture
    from archscale.nn import build_model, count_flops
    from archscale.study.load import parse_study

    rng = random.Random(0)
    codes = ["_".join("".join(rng.choice("01234") for _ in range(k)) for k in (1, 2, 3)) for _ in range(8)]
    text = STUDY.replace("family: mlp, width: 16", "family: nb201, width: 4, cells: 1").replace(
        'architectures: ["1", "2_02"]', f"architectures: {json.dumps(codes)}"
    )
    ctx = check("nb201", parse_study(text, "test", []), Console(quiet=True))
    facts = DatasetFacts("cifar10", 90, 10, 10, (3, 8, 8), 10, "test")
    counted = {key: counts.flops for key, counts in forward_costs(ctx, facts).items()}
    for key, info in ctx.archs.items():
        model = build_model(info.arch, classes=10, input_shape=(3, 8, 8), width=4, cells=1)
        assert counted[key] == count_flops(model, (3, 8, 8)), info.arch.label
    assert parse_architecture("1_01_001", "nb201")  # the notation the codes use
