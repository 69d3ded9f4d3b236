"""Frames read from the results database, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from archscale.errors import UserError
from archscale.store import (
    Writer,
    make_engine,
    read_architectures,
    read_epochs,
    read_plan,
    read_studies,
    read_trials,
)
from archscale.vocabulary import Phase, RunKey

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def filled(results_url):
    """Two studies; `cmp` has two architectures, three trials and their epochs."""
    with Writer(results_url) as writer:
        study = writer.ensure_study("cmp", "name: cmp\n")
        other = writer.ensure_study("other", "name: other\n")
        a = writer.upsert_architecture("ha", "2_02_002", "mlp")
        writer.upsert_architecture("hb", "3_33_133", "nb201")
        unused = writer.upsert_architecture("hc", "1", "mlp")
        tuned = writer.upsert_trial(
            study,
            RunKey("ha", "tuned", Phase.SEARCH, 0),
            "tuned",
            status="completed",
            started_at=STARTED,
            val_accuracy=0.8,
            hyperparameters={"lr": 0.1, "init": "kaiming", "schedule": {"warmup": 2}},
        )
        writer.upsert_trial(
            study,
            RunKey("hb", "principled", Phase.FINAL, 1),
            "principled",
            status="pruned",
            budget_reached=2,
            hyperparameters={"lr": 0.05, "convention": "official"},
        )
        writer.upsert_trial(study, RunKey("hb", "fixed-0.1", Phase.FINAL, 1), "fixed", status="running")
        writer.upsert_trial(other, RunKey("hc", "fixed", Phase.FINAL, 0), "fixed", status="completed")
        writer.write_plan(
            study,
            {
                "seeds": [1],
                "search_seeds": [0],
                "search_repeats": 1,
                "pairs": [["principled", "fixed-0.1"]],
                "chance": 0.1,
            },
            [
                {
                    "architecture_id": a,
                    "position": 0,
                    "listed": True,
                    "is_base": False,
                    "width": 8,
                    "kernel_size": None,
                    "convention": "official",
                    "paths": 2.0,
                    "depth_cubed_sum": 16.0,
                    "principled_scale": 0.5,
                    "n_params": 10,
                },
                {
                    "architecture_id": unused,
                    "position": -1,
                    "listed": False,
                    "is_base": True,
                    "width": 8,
                    "kernel_size": None,
                    "convention": "official",
                    "paths": 1.0,
                    "depth_cubed_sum": 1.0,
                    "principled_scale": 1.0,
                    "n_params": None,
                },
            ],
            [
                {
                    "arm": "principled",
                    "kind": "principled",
                    "position": 0,
                    "label": "principled",
                    "final": True,
                    "settings": {},
                    "recipe": {"epochs": 2},
                }
            ],
            [
                {
                    "name": "cmp/base-search/1",
                    "phase": "base-search",
                    "architecture_id": unused,
                    "repeat": 0,
                    "seed": 0,
                    "scope": "study",
                    "arms": ["principled"],
                    "budget": {"trials": 3},
                }
            ],
        )
        writer.record_choice(study, "principled", a, 0, 0.05, "cmp/base-search/1", "base LR × scale")
        for epoch in (1, 2):
            writer.add_epoch(tuned, epoch, train_loss=1 / epoch, val_accuracy=0.4 * epoch, lr=0.1, seconds=1.5)
    return results_url


def test_studies(filled):
    studies = read_studies(filled)
    assert studies["name"].tolist() == ["cmp", "other"]
    assert studies["trials"].tolist() == [3, 1] and studies["completed"].tolist() == [1, 1]
    assert str(studies["created_at"].dtype) == "datetime64[us, UTC]"


def test_trials_are_wide_with_flattened_hyperparameters(filled):
    trials = read_trials(filled, "cmp")
    assert len(trials) == 3 and set(trials["study"]) == {"cmp"}
    assert trials["architecture"].tolist() == ["2_02_002", "3_33_133", "3_33_133"]
    assert trials["hp_lr"].tolist()[:2] == [0.1, 0.05] and pd.isna(trials["hp_lr"].iloc[2])
    assert trials["hp_schedule_warmup"].iloc[0] == 2 and trials["hp_convention"].iloc[1] == "official"
    assert "hyperparameters" not in trials.columns
    assert trials["started_at"].iloc[0] == pd.Timestamp(STARTED)
    assert str(trials["budget_reached"].dtype) == "Int64" and trials["budget_reached"].iloc[1] == 2
    assert len(read_trials(filled)) == 4


def test_epochs_are_long(filled):
    epochs = read_epochs(filled, "cmp")
    assert epochs[["arm", "kind", "repeat", "epoch"]].values.tolist() == [
        ["tuned", "tuned", 0, 1],
        ["tuned", "tuned", 0, 2],
    ]
    assert epochs["val_accuracy"].tolist() == pytest.approx([0.4, 0.8])
    assert epochs["test_loss"].isna().all()


def test_architectures_of_a_study(filled):
    assert read_architectures(filled, "cmp")["notation"].tolist() == ["2_02_002", "3_33_133", "1"]
    assert len(read_architectures(filled)) == 3


def test_the_stored_plan(filled):
    plan = read_plan(filled, "cmp")
    assert plan.seeds == (1,) and plan.search_seeds == (0,) and plan.pairs == (("principled", "fixed-0.1"),)
    assert plan.chance == 0.1 and plan.search_repeats == 1
    archs = plan.architectures
    assert archs["notation"].tolist() == ["2_02_002", "1"] and archs["listed"].tolist() == [True, False]
    assert (
        archs["S"].tolist() == [16.0, 1.0]
        and archs["parameters"].iloc[0] == 10
        and pd.isna(archs["parameters"].iloc[1])
    )
    assert plan.arms.iloc[0].to_dict() | {"settings": None} == {
        "arm": "principled",
        "kind": "principled",
        "position": 0,
        "label": "principled",
        "final": True,
        "settings": None,
        "recipe": {"epochs": 2},
    }
    assert plan.searches.iloc[0]["arms"] == ("principled",) and plan.searches.iloc[0]["graph_hash"] == "hc"
    assert plan.choices[["arm", "graph_hash", "repeat", "lr"]].values.tolist() == [["principled", "ha", 0, 0.05]]
    empty = read_plan(filled, "other")
    assert empty.architectures.empty and empty.seeds == ()


def test_empty_frames_keep_their_columns(results_url):
    with Writer(results_url) as writer:
        writer.ensure_study("empty", "a: 1\n")
    trials = read_trials(results_url, "empty")
    assert trials.empty and {"study", "architecture", "status", "val_accuracy"} <= set(trials.columns)
    assert read_epochs(results_url, "empty").empty


def test_unknown_study_names_the_known_ones(filled):
    with pytest.raises(UserError, match=r"no study 'nope' in .*; studies: cmp, other"):
        read_trials(filled, "nope")


def test_an_engine_works_as_well_as_a_url(filled):
    engine = make_engine(filled, read_only=True)
    assert len(read_trials(engine, "cmp")) == 3
    engine.dispose()


def test_reading_a_database_without_results_is_a_user_error(db_url):
    make_engine(db_url).dispose()  # exists (SQLite: an empty file) but holds no archscale tables
    with pytest.raises(UserError, match="holds no archscale results"):
        read_studies(db_url)
