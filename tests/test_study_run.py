"""`archscale run` end to end on embedded Ray into SQLite: database contents, resume after the driver
is killed, and bad input, which writes nothing and leaves no Ray running."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from archscale.study.load import parse_study
from stored_rows import RICH_STUDY, RICH_STUDY_ROWS, differing, stored_rows

TINY = """\
name: tiny
dataset: {name: mnist1d, limit: 600, test_limit: 300, val_fraction: 0.25}
model: {family: mlp, width: 32}
architectures: ["2", "2_22_222", "0_02"]
training: {epochs: 2, batch_size: 32, optimizer: {momentum: 0.9}, schedule: cosine}
seeds: [0, 1]
search: {trials: 3, low: 0.01, high: 1.0, early_stopping: {grace_epochs: 1}}
strategies:
  principled: {}
  fixed: {lr: base}
  tuned: {}
"""


def archscale(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archscale.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def finals_started(db: Path) -> int:
    """Final trials in the database so far (0 while the driver is still creating it)."""
    try:
        return rows(db, "select count(*) from archscale_trial where phase = 'final'")[0][0] if db.exists() else 0
    except sqlite3.OperationalError:
        return 0


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    study = root / "tiny.yaml"
    study.write_text(TINY)
    db = root / "results.db"
    result = archscale("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    return result, db, study


@pytest.mark.slow
def test_tiny_study_fills_the_database(tiny_run):
    result, db, _ = tiny_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipping 0_02: no input→output path" in result.stderr
    counts = dict(
        ((phase, arm), n)
        for phase, arm, n in rows(db, "select phase, arm, count(*) from archscale_trial group by 1, 2")
    )
    assert counts == {
        ("base-search", "principled"): 3,
        ("search", "tuned"): 6,
        ("final", "fixed"): 4,
        ("final", "principled"): 4,
        ("final", "tuned"): 4,
    }
    seeds = rows(db, "select phase, group_concat(distinct seed) from archscale_trial group by 1 order by 1")
    assert seeds == [("base-search", "10000"), ("final", "0,1"), ("search", "10000")]  # searches and finals share none
    statuses = rows(db, "select phase, status, count(*) from archscale_trial group by 1, 2")
    assert all(status in {"completed", "diverged"} for phase, status, _ in statuses if phase == "final")
    assert all(status in {"completed", "pruned", "diverged"} for _, status, _ in statuses)
    final = rows(
        db,
        "select t.status, t.budget_reached, t.selected_epoch, t.test_accuracy, t.device_seconds, count(e.epoch) "
        "from archscale_trial t left join archscale_epoch e on e.trial_id = t.id where t.phase = 'final' group by t.id",
    )
    for status, budget, selected, test_acc, device_seconds, epochs in final:
        if status == "completed":
            assert budget == 2 and epochs == 2 and selected in (1, 2)
            assert 0 <= test_acc <= 1 and device_seconds > 0
    pruned = rows(db, "select budget_reached from archscale_trial where status = 'pruned'")
    assert all(budget < 2 for (budget,) in pruned)
    ((status, stored),) = rows(db, "select status, yaml_text from archscale_study")
    assert status == "completed" and parse_study(stored, "stored", []).spec == parse_study(TINY, "tiny", []).spec
    charged = dict(rows(db, "select name, arms from archscale_study_search"))
    assert json.loads(charged["tiny/base-search/1"]) == ["principled", "fixed"]
    choices = rows(db, "select arm, count(*) from archscale_choice group by 1 order by 1")
    assert choices == [("fixed", 2), ("principled", 2), ("tuned", 2)]


@pytest.mark.slow
def test_principled_lrs_follow_the_formula(tiny_run):
    _, db, _ = tiny_run
    lrs = dict(
        rows(
            db,
            "select a.notation, json_extract(t.hyperparameters, '$.lr') from archscale_trial t "
            "join archscale_architecture a on a.id = t.architecture_id "
            "where t.phase = 'final' and t.arm = 'principled' and t.seed = 0",
        )
    )
    fixed = rows(
        db,
        "select distinct json_extract(hyperparameters, '$.lr') from archscale_trial "
        "where phase = 'final' and arm = 'fixed'",
    )
    (base_lr,) = fixed[0]
    assert len(fixed) == 1
    assert lrs["2"] == pytest.approx(base_lr * 0.649519, rel=1e-5)
    assert lrs["2_22_222"] == pytest.approx(base_lr * 0.225706, rel=1e-5)
    scales = dict(
        rows(
            db,
            "select a.notation, sa.principled_scale from archscale_study_architecture sa "
            "join archscale_architecture a on a.id = sa.architecture_id",
        )
    )
    assert scales == pytest.approx({"2": 0.649519, "2_22_222": 0.225706, "1": 1.0}, rel=1e-5)


@pytest.mark.slow
def test_optuna_sees_honest_trials(tiny_run):
    _, db, _ = tiny_run
    url = f"sqlite:///{db}"
    names = optuna.get_all_study_names(url)
    assert sorted(names) == ["tiny/base-search/1", "tiny/tuned/2", "tiny/tuned/2_22_222"]
    attrs = optuna.load_study(study_name="tiny/tuned/2_22_222", storage=url).user_attrs
    assert attrs["architecture"] == "2_22_222" and attrs["arms"] == ["tuned"] and attrs["repeat"] == 0
    stored = rows(db, "select count(*) from archscale_trial where status = 'pruned'")[0][0]
    pruned = 0
    for name in names:
        study = optuna.load_study(study_name=name, storage=url)
        states = [t.state for t in study.trials]
        assert len(states) == 3 and optuna.trial.TrialState.RUNNING not in states
        pruned += states.count(optuna.trial.TrialState.PRUNED)
    assert pruned == stored


@pytest.mark.slow
def test_rerun_of_a_finished_study_runs_nothing(tiny_run):
    _, db, study = tiny_run
    before = rows(db, "select count(*) from archscale_trial")[0][0]
    result = archscale("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    assert result.returncode == 0, result.stderr[-2000:]
    assert rows(db, "select count(*) from archscale_trial")[0][0] == before
    changed = archscale("run", str(study), "--db", f"sqlite:///{db}", "--no-compare", "--set", "seeds=[0]")
    assert changed.returncode == 2 and "exists in" in changed.stderr and "--new-name" in changed.stderr


@pytest.mark.parametrize(
    ("yaml_text", "message", "checked_before_ray"),
    [
        (TINY.replace("mnist1d", "cifar-10"), "unknown dataset 'cifar-10'", False),
        (TINY.replace('["2", "2_22_222", "0_02"]', '["0_02"]'), "no trainable architecture left", True),
        (TINY.replace("name: mnist1d,", "name: cifar10, root: /nonexistent,"), "cifar10", False),
        (TINY.replace("tuned: {}", "tuned: {trials: -1}"), "bad.yaml:11: strategies.tuned.trials", True),
        (TINY.replace("search: {trials: 3", "search: {trials: -1"), "bad.yaml:7: search.trials", True),
        (TINY.replace("tuned: {}", "tuned: {init: he}"), "strategies.tuned.init: unknown init scheme 'he'", False),
    ],
)
def test_bad_input_writes_nothing_and_leaves_no_ray_running(
    cli, tmp_path, monkeypatch, yaml_text, message, checked_before_ray
):
    """The quick checks fail before Ray starts; the registries, the dataset and the database are checked
    while Ray starts (`study_setup`), which then stops again."""
    import ray

    monkeypatch.setenv("ARCHSCALE_RAY_TMPDIR", str(tmp_path / "ray"))
    study = tmp_path / "bad.yaml"
    study.write_text(yaml_text)
    db = tmp_path / "never.db"
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.strip().count("\n") == 0 or "skipping" in err
    assert not db.exists() and not ray.is_initialized()
    ray_sessions = list((tmp_path / "ray").glob("session_2*"))
    assert not ray_sessions if checked_before_ray else ray_sessions


def test_unreachable_database_is_one_line(cli, tmp_path):
    import ray

    study = tmp_path / "s.yaml"
    study.write_text(TINY)
    code, _, err = cli("run", str(study), "--db", "postgresql+psycopg://me:secret@127.0.0.1:1/none", "--no-compare")
    assert code == 2 and err.strip().splitlines()[-1].startswith("archscale: error: cannot open database")
    assert "secret" not in err and "Traceback" not in err and not ray.is_initialized()


def test_unreachable_ray_address_is_one_line_and_the_study_waits_interrupted(cli, tmp_path):
    """Ray retries an address with nothing behind it for minutes; the driver fails at once instead."""
    import ray

    study = tmp_path / "s.yaml"
    study.write_text(TINY)
    db = tmp_path / "s.db"
    started = time.monotonic()
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{db}", "--address", "127.0.0.1:1", "--no-compare")
    assert code == 2 and time.monotonic() - started < 60
    assert err.strip().splitlines()[-1].startswith("archscale: error: cannot start or reach Ray at '127.0.0.1:1'")
    assert "Traceback" not in err and not ray.is_initialized()
    assert rows(db, "select status from archscale_study") == [("interrupted",)]


@pytest.mark.slow
def test_killed_driver_resumes_the_effective_study_without_loss_or_duplicates(tmp_path):
    """Run with `--set seeds=[0, 1]` over a YAML that says three seeds, kill the driver, resume with the
    YAML alone: the resumed study is the stored effective one (two seeds), not the file."""
    study = tmp_path / "tiny.yaml"
    study.write_text(TINY.replace("name: tiny", "name: resumable").replace("seeds: [0, 1]", "seeds: [0, 1, 2]"))
    db = tmp_path / "r.db"
    ray_tmp = Path(f"/tmp/asr-resume-{os.getpid()}")
    env = {**os.environ, "ARCHSCALE_RAY_TMPDIR": str(ray_tmp)}
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archscale.cli",
            "run",
            str(study),
            "--db",
            f"sqlite:///{db}",
            "--no-compare",
            "--set",
            "seeds=[0, 1]",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(1)
        if finals_started(db) >= 2:
            break
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    subprocess.run(["pkill", "-9", "-f", str(ray_tmp)], check=False)
    assert rows(db, "select count(*) from archscale_trial where phase = 'final'")[0][0] >= 2
    result = archscale("run", str(study), "--db", f"sqlite:///{db}", "--no-compare", "--resume", env=env)
    subprocess.run(["pkill", "-9", "-f", str(ray_tmp)], check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resuming 'resumable' with the study stored in the database" in result.stderr
    counts = dict(rows(db, "select phase, count(*) from archscale_trial group by phase"))
    assert counts == {"base-search": 3, "search": 6, "final": 12}
    assert rows(db, "select distinct seed from archscale_trial where phase = 'final' order by 1") == [(0,), (1,)]
    assert json.loads(rows(db, "select plan from archscale_study")[0][0])["seeds"] == [0, 1]
    assert rows(db, "select count(*) from archscale_trial where status in ('running', 'pending')")[0][0] == 0
    duplicated = rows(
        db, "select count(*) from (select trial_id, epoch, count(*) n from archscale_epoch group by 1, 2 having n > 1)"
    )
    assert duplicated == [(0,)]
    for name in optuna.get_all_study_names(f"sqlite:///{db}"):
        trials = optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials
        finished = [t for t in trials if t.state.is_finished() and t.state.name != "FAIL"]
        assert len(finished) == 3


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path):
    """The README's main job: studies/quickstart.yaml on embedded Ray into SQLite, comparison printed."""
    db = tmp_path / "quickstart.db"
    quickstart = Path(__file__).parents[1] / "studies" / "quickstart.yaml"
    result = archscale("run", str(quickstart), "--db", f"sqlite:///{db}", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = " ".join(result.stdout.split())  # the table wraps long lines
    assert "principled − tuned across architectures like these (effect of the LR choice)" in printed
    assert "principled − principled-kaiming across architectures like these (effect of init)" in printed
    assert "search luck included:" in printed and "2_22_222_2222" in result.stdout
    counts = dict(
        ((phase, arm), n)
        for phase, arm, n in rows(db, "select phase, arm, count(*) from archscale_trial group by 1, 2")
    )
    assert counts == {  # 3 search repeats
        ("base-search", "principled"): 3 * 8,  # shared with fixed (same init, same search)
        ("base-search", "principled-kaiming"): 3 * 8,
        ("search", "tuned"): 3 * 5 * 8,
        ("final", "fixed"): 3 * 5 * 3,  # those on the base network trained once for principled and fixed
        ("final", "principled"): 3 * 5 * 3,
        ("final", "tuned"): 3 * 5 * 3,
        ("final", "principled-kaiming"): 3 * 5 * 3,
    }
    final = rows(
        db,
        "select t.status, t.budget_reached, t.device_seconds, count(e.epoch) from archscale_trial t "
        "left join archscale_epoch e on e.trial_id = t.id where t.phase = 'final' group by t.id",
    )
    assert all(status in ("completed", "diverged") for status, *_ in final)
    assert all(
        budget == 5 and epochs == 5 and seconds > 0
        for status, budget, seconds, epochs in final
        if status == "completed"
    )
    search = rows(db, "select status, budget_reached from archscale_trial where phase = 'search'")
    assert {status for status, _ in search} <= {"completed", "pruned", "diverged"}
    assert all(budget < 5 for status, budget in search if status == "pruned")
    assert rows(db, "select sum(device_seconds) > 0 from archscale_trial where phase != 'final'") == [(1,)]


@pytest.mark.slow
def test_a_studys_rows_depend_on_its_yaml_only_not_on_workers_or_its_name(tmp_path, rich_study_embedded):
    """The same study with 2 workers (embedded on this machine), with 1 under another name, and unpacked
    stores identical rows: the searches' paths, early stopping, packs and final runs are plan decisions,
    and a packed member computes the same bits as the run alone."""
    study = tmp_path / "same.yaml"
    study.write_text(RICH_STUDY)
    runs = {
        "one worker, another name": ("renamed", ["--set", "resources.max_concurrent=1", "--new-name", "renamed"]),
        "unpacked": ("same-answer", ["--set", "resources.pack=1"]),
    }
    stored = {"two workers": rich_study_embedded}
    for label, (name, options) in runs.items():
        url = f"sqlite:///{tmp_path / (label.replace(' ', '-').replace(',', '') + '.db')}"
        result = archscale("run", str(study), "--db", url, "--no-compare", *options)
        assert result.returncode == 0, result.stderr[-3000:]
        stored[label] = stored_rows(url, name)
    reference = stored["two workers"]
    assert len(reference) == RICH_STUDY_ROWS
    for label, rows_ in stored.items():
        assert not differing(reference, rows_), label
    shared = [r for r in reference if r[15] is not None]
    assert [(r[0], r[1], r[15]) for r in shared] == [("1", "fixed", "principled")] * 2  # trained once, two rows


REPEATED = """\
name: repeated
dataset: {name: digits, limit: 300, test_limit: 150, val_fraction: 0.25}
model: {family: mlp, width: 16}
architectures: ["2", "2_02"]
training: {epochs: 1, batch_size: 32}
seeds: [0, 1]
search: {trials: 2, low: 0.01, high: 1.0}
search_repeats: 2
strategies:
  principled: {}
  tuned: {}
  fixed: {lr: 0.1}
"""


@pytest.mark.slow
def test_search_repeats_run_resume_and_report_the_search_luck(cli, tmp_path):
    study = tmp_path / "repeated.yaml"
    study.write_text(REPEATED)
    db = tmp_path / "r.db"
    code, _, err = cli("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    assert code == 0, err[-3000:]
    counts = dict(
        ((phase, arm, repeat), n)
        for phase, arm, repeat, n in rows(
            db, "select phase, arm, repeat, count(*) from archscale_trial group by 1, 2, 3"
        )
    )
    assert counts == {
        ("base-search", "principled", 0): 2,
        ("base-search", "principled", 1): 2,
        ("search", "tuned", 0): 4,
        ("search", "tuned", 1): 4,
        ("final", "principled", 0): 4,
        ("final", "principled", 1): 4,
        ("final", "tuned", 0): 4,
        ("final", "tuned", 1): 4,
        ("final", "fixed", 0): 4,  # a given LR is the same in every repeat: it runs once
    }
    seeds = dict(
        rows(db, "select repeat, group_concat(distinct seed) from archscale_trial where phase != 'final' group by 1")
    )
    assert seeds == {0: "10000", 1: "10001"}
    code, _, _ = cli("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")  # resume: nothing left to run
    assert code == 0 and rows(db, "select count(*) from archscale_trial")[0][0] == sum(counts.values())
    code, out, _ = cli("compare", "repeated", "--db", f"sqlite:///{db}", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["search_repeats"] == 2
    line = document["summary"]["accuracy.diff.principled:tuned"]
    assert "repeat" in line["varies"] and line["n"] == 2 and line["method"] == "t"


PACKED_SEARCH = """\
name: packed-asha
dataset: {name: digits, val_fraction: 0.2}
model: {family: mlp, width: 32}
architectures: ["2_02"]
training: {epochs: 3, batch_size: 64, optimizer: {momentum: 0.9}, schedule: cosine}
seeds: [0]
search:
  {trials: 6, low: 0.001, high: 3.0, sampler: random, batch: 3, early_stopping: {grace_epochs: 1, reduction_factor: 2}}
strategies:
  tuned: {}
resources: {cpu_per_trial: 1, max_concurrent: 1}
"""


@pytest.mark.slow
def test_early_stopping_stops_members_of_a_packed_search_one_by_one(tmp_path):
    study = tmp_path / "packed.yaml"
    study.write_text(PACKED_SEARCH)
    db = tmp_path / "packed.db"
    result = archscale("run", str(study), "--db", f"sqlite:///{db}", "--no-compare")
    assert result.returncode == 0, result.stderr[-3000:]
    members = rows(
        db,
        "select t.ray_trial_id, t.status, t.budget_reached, count(e.epoch) from archscale_trial t "
        "left join archscale_epoch e on e.trial_id = t.id where t.phase = 'search' group by t.id "
        "order by t.trial_number",
    )
    assert len(members) == 6 and len({pack for pack, *_ in members}) == 2  # two rounds of 3: a pack each
    statuses = [status for _, status, _, _ in members]
    assert set(statuses[:3]) == {"completed"}  # the first round has no earlier round to be judged against
    assert "pruned" in statuses[3:] and "completed" in statuses[3:]  # ASHA judged each member on its own
    for _, status, budget, epochs in members:
        assert epochs == budget and (budget == 3) == (status == "completed")
    trials = optuna.load_study(study_name="packed-asha/tuned/2_02", storage=f"sqlite:///{db}").trials
    assert sorted(t.state.name for t in trials) == sorted(
        {"pruned": "PRUNED", "completed": "COMPLETE", "diverged": "COMPLETE"}[s] for s in statuses
    )
