"""The writer's contract, on SQLite and PostgreSQL: lazy, picklable, idempotent upserts on natural
keys, buffered epochs written in transactions, and values normalised."""

import pickle
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archscale.errors import UserError
from archscale.store import Phase, StudyConflict, StudyStatus, TrialStatus, Writer
from archscale.store.models import Choice, Epoch, Study, StudyArchitecture, StudyArm, Trial, run_key
from archscale.vocabulary import RunKey


def count(writer: Writer, table: str) -> int:
    with writer.engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.fixture
def writer(results_url):
    with Writer(results_url) as writer:
        yield writer


@pytest.fixture
def ids(writer):
    study = writer.ensure_study("study", "name: study\n", git_revision="abc123", host="node-1", devices="cpu")
    arch = writer.upsert_architecture("hash-1", "2_02_002", "mlp")
    return study, arch


def test_engine_is_opened_lazily_and_never_pickled(tmp_path):
    path = tmp_path / "lazy.db"
    writer = Writer(f"sqlite:///{path}")
    clone = pickle.loads(pickle.dumps(writer))
    assert not path.exists()
    clone.ensure_study("s", "a: 1\n")
    assert path.exists()
    again = pickle.loads(pickle.dumps(clone))  # an open engine is dropped, not pickled
    assert again._engine is None and again.ensure_study("s", "a: 1\n") == 1
    clone.close()
    again.close()


def test_repr_masks_the_password():
    assert repr(Writer("postgresql://u:secret@h/d")) == "Writer('postgresql://u:***@h/d', 0 epochs buffered)"


def test_new_postgresql_needs_upgrade_db(db_url):
    writer = Writer(db_url)
    if db_url.startswith("sqlite"):
        assert writer.ensure_study("s", "a: 1\n") == 1  # a new SQLite database is created
    else:
        with pytest.raises(UserError, match="archscale db upgrade"):
            writer.ensure_study("s", "a: 1\n")
        writer.upgrade_db = True
        assert writer.ensure_study("s", "a: 1\n") == 1
    writer.close()


def test_ensure_study_reopens_the_same_yaml_and_refuses_another(writer):
    study = writer.ensure_study("study", "a: 1\n", host="first")
    writer.finish_study(study, StudyStatus.INTERRUPTED)
    assert writer.ensure_study("study", "a: 1\n", host="second") == study
    with Session(writer.engine) as session:
        row = Study.find(session, "study")
        assert (row.status, row.finished_at, row.host) == ("running", None, "second")
        assert row.created_at.tzinfo is UTC
    with pytest.raises(StudyConflict, match=r"study 'study' already exists .* with another YAML") as info:
        writer.ensure_study("study", "a: 2\n")
    assert isinstance(info.value, UserError)
    writer.finish_study(study, "completed")
    with Session(writer.engine) as session:
        row = Study.find(session, "study")
        assert row.status == "completed" and row.finished_at is not None


def test_architecture_rows_are_shared_and_plan_rows_are_per_study(writer, ids):
    study, arch = ids
    assert (
        writer.upsert_architecture("hash-1", "2_02_002", "mlp") == arch and count(writer, "archscale_architecture") == 1
    )
    other = writer.ensure_study("other", "name: other\n")
    row = {
        "architecture_id": arch,
        "position": 0,
        "listed": True,
        "is_base": False,
        "width": 64,
        "kernel_size": None,
        "convention": "official",
        "paths": 2**70,
        "depth_cubed_sum": 16,
        "principled_scale": 0.5,
        "n_params": None,
    }
    arm = {
        "arm": "principled",
        "kind": "principled",
        "position": 0,
        "label": "principled",
        "final": True,
        "settings": {"kind": "principled"},
        "recipe": {"epochs": 2},
    }
    writer.write_plan(study, {"seeds": [0]}, [row], [arm], [])
    writer.set_parameter_count(study, arch, 1234)
    writer.write_plan(study, {"seeds": [0, 1]}, [row], [arm], [])  # a re-run keeps the counted parameters
    writer.write_plan(other, {"seeds": [5]}, [{**row, "width": 32, "principled_scale": 0.125}], [], [])
    writer.record_choice(study, "principled", arch, 0, 0.05, None, "given")
    writer.record_choice(study, "principled", arch, 0, 0.06, "s/base-search/1", "searched")
    with Session(writer.engine) as session:
        mine = session.get(StudyArchitecture, (study, arch))
        theirs = session.get(StudyArchitecture, (other, arch))
        assert (mine.width, mine.principled_scale, mine.n_params, mine.paths) == (64, 0.5, 1234, float(2**70))
        assert (theirs.width, theirs.principled_scale, theirs.n_params) == (32, 0.125, None)
        assert session.get(Study, study).plan == {"seeds": [0, 1]}
        assert session.get(StudyArm, (study, "principled")).recipe == {"epochs": 2}
        choice = session.get(Choice, (study, "principled", arch, 0))
        assert (choice.lr, choice.search, choice.source) == (0.06, "s/base-search/1", "searched")
    with pytest.raises(ValueError, match="positive finite"):
        writer.record_choice(study, "principled", arch, 0, float("nan"), None, "given")
    many = [("fixed", arch, repeat, 0.1 * (repeat + 1), None, "given") for repeat in range(3)]
    with pytest.raises(ValueError, match="positive finite"):  # one bad LR: nothing of the batch is written
        writer.record_choices(study, [*many, ("fixed", arch, 3, 0.0, None, "given")])
    writer.record_choices(study, many)
    writer.record_choices(study, [("fixed", arch, 1, 0.5, "s/fixed/1", "searched")])  # replaces one
    with Session(writer.engine) as session:
        stored = session.query(Choice).filter_by(study_id=study, arm="fixed").order_by(Choice.repeat).all()
        assert [(c.repeat, c.lr, c.source) for c in stored] == [
            (0, 0.1, "given"),
            (1, 0.5, "searched"),
            (2, 0.30000000000000004, "given"),
        ]


def test_trial_upsert_is_idempotent_and_writes_only_given_fields(writer, ids):
    study, arch = ids
    key = RunKey("hash-1", "tuned", Phase.SEARCH, 0, 7)
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = writer.upsert_trial(
        study,
        key,
        "tuned",
        hyperparameters={"lr": 0.1, "init": "kaiming"},
        status=TrialStatus.RUNNING,
        started_at=started,
        ray_trial_id="abc_00001",
        optuna_study="study/2_02_002",
        device_kind="cpu",
    )
    second = writer.upsert_trial(
        study,
        key,
        "tuned",
        status="completed",
        val_accuracy=np.float32(0.75),
        selected_epoch=np.int64(3),
        budget_reached=3,
    )
    assert first == second and count(writer, "archscale_trial") == 1
    with Session(writer.engine) as session:
        trial = Trial.find(session, study, arch, key)
        assert (trial.arm, trial.kind, trial.repeat) == ("tuned", "tuned", 0)
        assert trial.hyperparameters == {"lr": 0.1, "init": "kaiming"}
        assert (trial.status, trial.selected_epoch, trial.ray_trial_id) == ("completed", 3, "abc_00001")
        assert trial.val_accuracy == pytest.approx(0.75) and trial.started_at == started
    assert writer.upsert_trial(study, key, "tuned") == first  # nothing to change: still one row
    other = writer.upsert_trial(study, replace(key, seed=1), "tuned")
    repeat = writer.upsert_trial(study, replace(key, repeat=1), "tuned")
    named = writer.upsert_trial(study, replace(key, arm="tuned-wide"), "tuned")
    assert len({first, other, repeat, named}) == 4 and count(writer, "archscale_trial") == 4


def test_new_trial_defaults(writer, ids):
    trial_id = writer.upsert_trial(ids[0], RunKey("hash-1", "fixed", Phase.FINAL, 0), "fixed")
    with Session(writer.engine) as session:
        trial = session.get(Trial, trial_id)
        assert (trial.status, trial.hyperparameters) == ("pending", {})


def test_a_run_key_maps_to_its_row_and_back(writer, ids):
    study, arch = ids
    key = RunKey("hash-1", "tuned", "search", 2, 7, 1)  # a phase read back as text is a Phase again
    writer.upsert_trial(study, key, "tuned")
    with Session(writer.engine) as session:
        row = Trial.find(session, study, arch, key)
        assert row is not None and run_key("hash-1", row) == key and key.phase is Phase.SEARCH
    with pytest.raises(ValueError, match="not stored"):
        writer.upsert_trial(study, RunKey("unknown-hash", "tuned", Phase.SEARCH, 0), "tuned")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"colour": "red"}, TypeError),
        ({"status": "exploded"}, ValueError),
        ({"hyperparameters": {"lr": float("nan")}}, ValueError),
        ({"hyperparameters": {"lr": np.float32(0.1)}}, ValueError),
        ({"started_at": datetime(2026, 1, 1)}, ValueError),
    ],
)
def test_bad_trial_values_are_refused(writer, ids, fields, error):
    with pytest.raises(error):
        writer.upsert_trial(ids[0], RunKey("hash-1", "tuned", Phase.SEARCH, 0), "tuned", **fields)
    assert count(writer, "archscale_trial") == 0


def test_any_kind_is_stored_as_text_without_a_migration(writer, ids):
    trial_id = writer.upsert_trial(ids[0], RunKey("hash-1", "lucky", Phase.SEARCH, 0), "a-new-kind")
    with Session(writer.engine) as session:
        assert session.get(Trial, trial_id).kind == "a-new-kind"
    study, arch = ids
    with pytest.raises(IntegrityError), writer.engine.begin() as connection:  # phases are still checked
        connection.execute(
            text(
                "INSERT INTO archscale_trial (study_id, architecture_id, arm, kind, phase, seed, trial_number, repeat,"
                " hyperparameters, status) VALUES (:s, :a, 'x', 'x', 'lucky', 0, 0, 0, '{}', 'pending')"
            ),
            {"s": study, "a": arch},
        )


def test_epochs_are_buffered_then_written_once_with_latest_values(writer, ids):
    key = RunKey("hash-1", "tuned", Phase.SEARCH, 0)
    trial = writer.upsert_trial(ids[0], key, "tuned", status="running")
    for epoch in (1, 2, 3):
        writer.add_epoch(
            trial, epoch, train_loss=1.0 / epoch, train_loss_tail=0.9 / epoch, val_accuracy=0.1 * epoch, lr=0.1
        )
    assert count(writer, "archscale_epoch") == 0  # buffered
    writer.flush()
    assert count(writer, "archscale_epoch") == 3
    writer.add_epoch(trial, 3, train_loss=np.float64("nan"), val_accuracy=0.9, lr=np.float32(0.05))
    writer.add_epoch(trial, 4, val_accuracy=0.95)
    writer.upsert_trial(ids[0], key, "tuned", status="completed")  # writes the buffer in its transaction
    with Session(writer.engine) as session:
        epochs = Epoch.for_trial(session, trial)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert epochs[2].train_loss is None and epochs[2].val_accuracy == 0.9 and epochs[2].lr == pytest.approx(0.05)
    assert epochs[1].train_loss_tail == pytest.approx(0.45)


def test_epochs_flush_by_batch_size_and_by_age(results_url):
    with Writer(results_url, batch_size=3, max_delay_s=60) as writer:
        study = writer.ensure_study("s", "a: 1\n")
        writer.upsert_architecture("h", "2", "mlp")
        trial = writer.upsert_trial(study, RunKey("h", "fixed", Phase.FINAL, 0), "fixed")
        writer.add_epoch(trial, 1)
        writer.add_epoch(trial, 2)
        assert count(writer, "archscale_epoch") == 0
        writer.add_epoch(trial, 3)
        assert count(writer, "archscale_epoch") == 3
        writer.max_delay_s = 0.0
        writer.add_epoch(trial, 4)
        assert count(writer, "archscale_epoch") == 4


def test_epochs_of_unknown_trials_are_refused(writer):
    with pytest.raises(ValueError, match="not upserted by this writer"):
        writer.add_epoch(12345, 1)


def test_close_flushes(results_url):
    writer = Writer(results_url)
    study = writer.ensure_study("s", "a: 1\n")
    writer.upsert_architecture("h", "2", "mlp")
    trial = writer.upsert_trial(study, RunKey("h", "fixed", Phase.FINAL, 0), "fixed")
    writer.add_epoch(trial, 1, val_accuracy=0.5)
    writer.close()
    assert count(writer, "archscale_epoch") == 1
    writer.close()


def test_mark_stale_running_failed(writer, ids):
    study, _ = ids
    for seed, status in enumerate(["running", "completed", "running", "pending"]):
        writer.upsert_trial(study, RunKey("hash-1", "tuned", Phase.SEARCH, seed), "tuned", status=status)
    assert writer.mark_stale_running_failed(study) == 2
    with writer.engine.connect() as connection:
        rows = connection.execute(text("SELECT seed, status, error FROM archscale_trial ORDER BY seed")).all()
    assert [r.status for r in rows] == ["failed", "completed", "failed", "pending"]
    assert rows[0].error.startswith("interrupted")
    assert writer.mark_stale_running_failed(study) == 0


def test_deleting_a_study_deletes_its_trials_and_epochs(writer, ids):
    trial = writer.upsert_trial(ids[0], RunKey("hash-1", "fixed", Phase.FINAL, 0), "fixed")
    writer.add_epoch(trial, 1)
    writer.flush()
    with writer.engine.begin() as connection:
        connection.execute(text("DELETE FROM archscale_study"))
    assert count(writer, "archscale_trial") == count(writer, "archscale_epoch") == 0


def test_finished_keys_are_the_keys_of_completed_pruned_and_diverged_runs(writer, ids, results_url):
    from archscale.store import finished_keys

    study, _ = ids
    statuses = ["completed", "pruned", "diverged", "failed", "running", "pending"]
    keys = [RunKey("hash-1", "tuned", Phase.SEARCH, 0, number, repeat=1) for number in range(len(statuses))]
    for key, status in zip(keys, statuses, strict=True):
        writer.upsert_trial(study, key, "tuned", status=status)
    writer.flush()
    assert finished_keys(results_url, "study") == set(keys[:3])
