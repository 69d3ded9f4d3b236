"""Shared pytest fixtures."""

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


# --- The command line, in this process (no interpreter start-up per call) ---------------------------
@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the command line in this process; return (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        from archscale.cli.app import main

        monkeypatch.setattr(sys, "argv", ["archscale", *args])
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


# --- The results database: SQLite and a real PostgreSQL server (tests/run.sh starts one) ---------
PG_ENV = "ARCHSCALE_TEST_PG_URL"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the test PostgreSQL server; skipped without one, except that CI=true fails."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_ENV} is unset: run the suite with tests/run.sh")
        pytest.skip(f"no PostgreSQL server: {PG_ENV} is unset (tests/run.sh starts one)")
    return url


@contextmanager
def _new_schema(server_url: str) -> Iterator[str]:
    """Create a schema on the test server; yield a URL whose search_path is that schema; drop it."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def _at_head(url: str) -> str:
    from archscale.store import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def postgres(postgres_server: str) -> Iterator[str]:
    """The URL of a new, empty schema on the test server (as its search_path), dropped after the test;
    a schema per test isolates tests at a fraction of the cost of a database per test."""
    with _new_schema(postgres_server) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL of a new, empty database, once on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'results.db'}"
    return request.getfixturevalue("postgres")


@pytest.fixture(params=BACKENDS)
def results_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The URL of a new database with the archscale schema at head, once on each backend."""
    if request.param == "sqlite":
        return _at_head(f"sqlite:///{tmp_path / 'results.db'}")
    return _at_head(request.getfixturevalue("postgres"))


@pytest.fixture(scope="module", params=BACKENDS)
def module_results_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """Like `results_url`, but shared by the tests of a module (for tests that only read)."""
    if request.param == "sqlite":
        yield _at_head(f"sqlite:///{tmp_path_factory.mktemp('results') / 'results.db'}")
    else:
        with _new_schema(request.getfixturevalue("postgres_server")) as url:
            yield _at_head(url)


# --- A multi-node Ray cluster on this machine (deploy/local/ray-cluster.sh; token auth on) ------------
RAY_CLUSTER_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "local" / "ray-cluster.sh"


@dataclass(frozen=True)
class LocalRayCluster:
    """A running cluster started by deploy/local/ray-cluster.sh.

    `address` is the GCS (HOST:PORT, for `ray.init(address=...)` and `archscale run --address`),
    `dashboard_url` the dashboard and Jobs API (http://127.0.0.1:PORT, for `JobSubmissionClient` and
    `archscale submit/status/logs --address`), `env` what a client needs in its environment:
    RAY_ADDRESS, RAY_API_SERVER_ADDRESS, RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH (the token file).
    """

    directory: Path
    address: str
    dashboard_url: str
    env: dict[str, str]

    def client_env(self) -> dict[str, str]:
        """This process's environment plus `env`, for subprocesses (RAY_AUTH_TOKEN, which would take
        precedence over the token file, removed)."""
        merged = {key: value for key, value in os.environ.items() if key != "RAY_AUTH_TOKEN"}
        return merged | self.env


def ray_cluster_script(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run deploy/local/ray-cluster.sh with this virtualenv's `ray`, `python` and `archscale` first on
    PATH (the cluster's job drivers inherit that PATH)."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", str(RAY_CLUSTER_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def start_ray_cluster(directory: Path, *options: str) -> LocalRayCluster:
    """Start a cluster in `directory` (options as the script's: --workers N, --cpus-per-node C, ...)."""
    started = ray_cluster_script("start", str(directory), *options, timeout=180)
    if started.returncode != 0:
        pytest.fail(f"ray-cluster.sh start failed ({started.returncode}):\n{started.stderr}", pytrace=False)
    printed = ray_cluster_script("env", str(directory))
    env = {}
    for line in printed.stdout.splitlines():
        if line.startswith("export "):
            key, _, value = shlex.split(line.removeprefix("export "))[0].partition("=")
            env[key] = value
    return LocalRayCluster(directory, env["RAY_ADDRESS"], env["RAY_API_SERVER_ADDRESS"], env)


def ray_cluster_pids(short_dir: str) -> list[int]:
    """The live processes of the cluster whose short temp dir is `short_dir`: every Ray process that the
    script starts carries ARCHSCALE_LOCAL_RAY=<short dir> in its environment (so do Ray's workers and
    job drivers), which is also how `stop` finds them."""
    needle = f"ARCHSCALE_LOCAL_RAY={short_dir}".encode()
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                pids.append(int(environ.parent.name))
        except OSError:  # gone, or not ours
            continue
    return pids


def stop_ray_cluster(directory: Path) -> None:
    """Stop the cluster in `directory` and check that none of its processes is left."""
    state = directory / "cluster.env"
    lines = state.read_text().splitlines() if state.exists() else []
    short_dirs = [line.removeprefix("SHORT=") for line in lines if line.startswith("SHORT=")]
    stopped = ray_cluster_script("stop", str(directory))
    assert stopped.returncode == 0, stopped.stderr
    for short_dir in short_dirs:
        left = ray_cluster_pids(short_dir)
        assert not left, f"processes of the Ray cluster in {directory} survived `stop`: {left}"
        assert not Path(short_dir).exists()


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    """A two-node Ray cluster for the session: head and one worker, 1 CPU, 2 GiB of Ray memory and
    300 MB of object store each. It is stopped at the end of the session, also when tests fail, and
    the teardown fails if any of its processes is left."""
    directory = tmp_path_factory.mktemp("ray-cluster")
    options = ("--workers", "1", "--cpus-per-node", "1", "--memory-mb", "2048", "--object-store-mb", "300")
    try:
        yield start_ray_cluster(directory, *options)
    finally:
        stop_ray_cluster(directory)


# --- A small finished study, run once per session by the real CLI (for the report tests) ----------
SMALL_STUDY_NAME = "report-small"
SMALL_STUDY_YAML = """\
# Every built-in kind on four tiny MLPs: a depth sweep (chains, for the probe's depth exponent) and a dense DAG.
name: report-small
dataset: {name: mnist1d, limit: 600}
model: {family: mlp, width: 32}
architectures:
  - {sweep: depth, depths: [1, 2, 3]}
  - "2_22_222"
training: {epochs: 2}
seeds: [0, 1]
search: {trials: 3, early_stopping: {grace_epochs: 1}}
strategies:
  principled: {}
  tuned: {}
  fixed: {lr: base}
  probe: {points: 4, extend: 0}  # a fixed grid, so that the report tests can count its runs
"""


@pytest.fixture(scope="session")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(database URL, study name) of a finished small study with fixed, principled, tuned and probe
    strategies (4 architectures, 2 seeds, 2 epochs), run once per session with `archscale run`
    (about a minute, most of it Ray start-up). Tests must only read it (copy it to change it)."""
    directory = tmp_path_factory.mktemp("small-study")
    study = directory / "study.yaml"
    study.write_text(SMALL_STUDY_YAML)
    url = f"sqlite:///{directory / 'results.db'}"
    command = [sys.executable, "-m", "archscale.cli", "run", str(study), "--db", url, "--no-compare"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=directory)
    if done.returncode != 0:
        pytest.fail(f"archscale run failed ({done.returncode}):\n{done.stderr[-4000:]}", pytrace=False)
    return url, SMALL_STUDY_NAME


@pytest.fixture
def group_lrs() -> Iterator[list[dict[int, float]]]:
    """Per optimizer step, each parameter's LR (by `id`) as its group had it when the step ran."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    seen: list[dict[int, float]] = []

    def record(optimizer, args, kwargs):
        seen.append({id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]})

    handle = register_optimizer_step_pre_hook(record)
    yield seen
    handle.remove()


@pytest.fixture(scope="session")
def rich_study_embedded(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The rows of tests/stored_rows.py's rich study run once embedded (2 workers, SQLite): the reference
    that the same-rows tests compare other layouts with (the cluster, one worker, unpacked)."""
    from stored_rows import RICH_STUDY, stored_rows

    folder = tmp_path_factory.mktemp("rich-embedded")
    study = folder / "same.yaml"
    study.write_text(RICH_STUDY)
    url = f"sqlite:///{folder / 'embedded.db'}"
    command = [sys.executable, "-m", "archscale.cli", "run", str(study), "--db", url, "--no-compare"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return stored_rows(url, "same-answer")
