"""Study YAML validation: errors name the field and the line; overrides; registries; the schema."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archscale.errors import UserError
from archscale.execution.registries import check_registries
from archscale.study import load_study, study_schema
from archscale.study.architectures import expand_architectures
from archscale.study.load import parse_stored_study, parse_study
from archscale.study.spec import KernelSweep, ModelSpec, SpaceSample, TrainingSpec, WidthSweep
from archscale.train.config import TrainConfig

QUICKSTART = Path(__file__).parents[1] / "studies" / "quickstart.yaml"

BASE = """\
name: t
dataset: {name: mnist1d}
architectures: ["2", "2_02"]
strategies:
  tuned: {trials: 3}
"""


def parse(text: str, overrides: list[str] | None = None):
    return parse_study(text, "s.yaml", overrides or [])


def test_every_committed_study_is_valid(monkeypatch):
    """Every study in studies/ loads and expands as committed (byo-resnet's module through its `python_path`)."""
    from archscale.nn.traced import traced_architecture

    monkeypatch.setattr(sys, "path", list(sys.path))  # python_path goes first on it

    for path in sorted(QUICKSTART.parent.glob("*.yaml")):
        loaded = load_study(path)
        archs, _ = expand_architectures(loaded.spec.architectures, loaded.spec.model, traced_architecture)
        assert archs, path


def test_defaults_and_overrides():
    loaded = parse(BASE, ["training.epochs=2", "seeds=[4, 5]", "strategies.tuned.early_stopping.grace_epochs=1"])
    spec = loaded.spec
    assert spec.training.epochs == 2 and spec.seeds == [4, 5]
    assert spec.strategies["tuned"].early_stopping.grace_epochs == 1
    assert spec.model.family == "mlp" and spec.dataset.val_fraction == 0.2
    assert loaded.text.startswith("# archscale: the effective study")
    assert parse(loaded.text).spec == spec  # the stored text is the effective study itself


def test_training_defaults_are_the_train_configs():
    """The study's `training:` defaults, optimizer included (`archscale.settings`, which cannot import
    `archscale.train`), are `TrainConfig`'s."""
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    training = TrainingSpec()
    assert training.optimizer.model_dump(exclude={"name"}) == {
        k: defaults[k] for k in ("momentum", "nesterov", "weight_decay")
    }
    assert all(getattr(training, k) == defaults[k] for k in TrainingSpec.model_fields if k != "optimizer")


def test_stored_study_of_release_1_applies_its_set_lines():
    old = BASE + "# --set training.epochs=2\n# --set seeds=[4, 5]"
    spec = parse_stored_study(old, "t").spec
    assert spec.training.epochs == 2 and spec.seeds == [4, 5]


def test_arms_shorthand_named_arms_and_shared_search():
    spec = parse(
        BASE.replace(
            "tuned: {trials: 3}", "tuned: {trials: 3}\n  principled: {}\n  pk: {kind: principled, init: kaiming}"
        )
        + "search: {trials: 7, sampler: random}\ncompare: [[principled, pk]]\n"
    ).spec
    assert [(name, arm.kind) for name, arm in spec.strategies.items()] == [
        ("tuned", "tuned"),
        ("principled", "principled"),
        ("pk", "principled"),
    ]
    assert spec.strategies["tuned"].overrides().over(spec.search).model_dump() == {
        "trials": 3,
        "low": 0.001,
        "high": 1.0,
        "sampler": "random",
        "seed": 0,
        "early_stopping": None,
        "batch": None,
    }
    assert spec.arm_init(spec.strategies["pk"])["init"] == "kaiming"
    assert spec.arm_init(spec.strategies["tuned"])["init"] == "architecture-aware"
    assert spec.compare == [("principled", "pk")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("trials: 3", "trials: 0"), "s.yaml:5: strategies.tuned.trials: Input should be greater than"),
        (
            BASE.replace("tuned: {trials: 3}", "tunned: {trials: 3}"),
            "s.yaml:5: strategies.tunned: unknown strategy kind",
        ),
        (BASE.replace("{trials: 3}", "{trials: 3, trails: 4}"), "s.yaml:5: strategies.tuned.trails: unknown field"),
        (BASE.replace("tuned: {trials: 3}", "my arm: {kind: tuned}"), "arm name 'my arm' must match"),
        (
            BASE.replace("tuned: {trials: 3}", "a: {kind: magic}"),
            "s.yaml:5: strategies.a.kind: unknown strategy kind 'magic'",
        ),
        (BASE + "compare: [[tuned, nope]]\n", "compare: unknown arm 'nope'"),
        (BASE + "search_seeds: [1]\n", "search_seeds [1] are also final-run seeds"),
        (
            BASE + "search_repeats: 3\nsearch_seeds: [7, 8, 7]\n",
            "search_seeds [7] are given twice: every search repeat needs its own seed",
        ),
        (BASE.replace("{trials: 3}", "{trials: 3, batch: 0}"), "s.yaml:5: strategies.tuned.batch: Input should be"),
        (
            BASE + "training: {epochs: 2}\nsearch: {early_stopping: {grace_epochs: 3}}\n",
            "s.yaml:5: strategies.tuned.early_stopping.grace_epochs: 3 must not exceed training.epochs (2)",
        ),
        (BASE.replace("name: t", "name: t\nsede: [1]"), "s.yaml:2: sede: unknown field"),
        (BASE.replace("{trials: 3}", "{low: 1.0, high: 0.1}"), "s.yaml:5: strategies.tuned: low (1.0) must be below"),
        (BASE + "seeds: [1, 1]\n", "s.yaml:6: seeds: seeds must be distinct"),
        ("name: t\n  bad: [", "s.yaml:2: invalid YAML"),
        ("- a\n- b\n", "a study must be a YAML mapping"),
        (BASE.replace("tuned: {trials: 3}", "{}"), "strategies: give at least one arm"),
    ],
)
def test_errors_name_field_and_line(text, message):
    with pytest.raises(UserError) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("mnist1d", "cifar-10"), "dataset.name: unknown dataset 'cifar-10'; known: cifar10, cifar100,"),
        (BASE.replace("{trials: 3}", "{trials: 3, init: he}"), "strategies.tuned.init: unknown init scheme 'he'"),
        (BASE + "model: {init: he}\n", "model.init: unknown init scheme 'he'"),
    ],
)
def test_registries_are_checked_before_a_run(text, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("(", r"\(")):
        check_registries(parse(text).spec)


def test_architecture_errors_name_the_entry():
    spec = parse(BASE.replace('"2_02"]', '"2_2"]')).spec
    with pytest.raises(UserError, match=r"architectures\[1\]: DAG string '2_2'"):
        expand_architectures(spec.architectures, spec.model)
    spec = parse(BASE.replace('"2_02"]', '"3_33_133"]')).spec
    with pytest.raises(UserError, match=r"architectures\[1\]: '3_33_133' is a NAS-Bench-201 code"):
        expand_architectures(spec.architectures, spec.model)


def test_spaces_and_sweeps_expand():
    spec = parse(
        BASE.replace(
            'architectures: ["2", "2_02"]',
            'architectures: ["0_02", {sweep: depth, depths: [1, 3]}, {space: mlp-dag, nodes: 3, sample: all}]',
        )
    ).spec
    archs, skipped = expand_architectures(spec.architectures, spec.model)
    assert [s.label for s in skipped] == ["0_02"]
    labels = [a.short for a in archs]
    assert labels[:2] == ["2", "2_02_002"] and len(labels) == len(set(labels))
    assert all(a.graph.has_path() for a in archs)
    nb201, _ = expand_architectures([SpaceSample(space="nb201", sample=5, seed=1)], ModelSpec(family="nb201"))
    assert len(nb201) == 5
    sweep = KernelSweep(sweep="kernel_size", kernel_sizes=[3, 5], architectures=["2_02"])
    kernels, _ = expand_architectures([sweep], ModelSpec(family="cnn"))
    assert [a.kernel_size for a in kernels] == [3, 5]
    widths, _ = expand_architectures([WidthSweep(sweep="width", widths=[64, 256], architectures=["2_02"])], ModelSpec())
    assert [(a.short, a.width) for a in widths] == [("2_02", 64), ("2_02", 256)]
    assert widths[0].digest() != widths[1].digest() and widths[1].label == "2_02 @ width 256"


def test_schema_command_prints_json_schema():
    out = subprocess.run([sys.executable, "-m", "archscale.cli", "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(out.stdout)
    expected = json.loads(json.dumps(study_schema()))  # this process may hold test-registered kinds too
    assert {k: v for k, v in schema["properties"].items() if k != "strategies"} == {
        k: v for k, v in expected["properties"].items() if k != "strategies"
    }
    assert {"name", "dataset", "architectures", "strategies", "search", "compare"} <= set(schema["properties"])
    kinds = schema["properties"]["strategies"]["additionalProperties"]["oneOf"]
    assert {k["properties"]["kind"]["const"] for k in kinds} >= {"fixed", "principled", "tuned", "probe"}
