"""deploy/local/ray-cluster.sh: a real two-node Ray cluster on this machine, with token authentication.

Clients run in subprocesses with the cluster's environment, as users' clients would (and so that this
process never connects to a cluster that outlives a test).
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import LocalRayCluster, ray_cluster_pids, ray_cluster_script

pytestmark = pytest.mark.cluster

MARKER = "ARCHSCALE_LOCAL_RAY"


def run_client(cluster: LocalRayCluster, source: str, env: dict[str, str] | None = None) -> dict:
    """Run `source` in a fresh Python with the cluster's client environment; return its last stdout line
    as JSON."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        env=cluster.client_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def core_pids(short_dir: str) -> set[int]:
    """The GCS server and raylets of a cluster (its workers come and go)."""
    pids = set()
    for pid in ray_cluster_pids(short_dir):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if command.endswith((b"/gcs_server", b"/raylet")):
            pids.add(pid)
    return pids


def test_tasks_run_on_both_nodes(ray_cluster: LocalRayCluster) -> None:
    report = run_client(
        ray_cluster,
        f"""
        import json
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray.init(address={ray_cluster.address!r}, log_to_driver=False)

        @ray.remote(num_cpus=1)
        def where():
            return ray.get_runtime_context().get_node_id()

        @ray.remote(num_cpus=1)
        def held():  # holds its CPU, so that two at once need both 1-CPU nodes
            import time

            time.sleep(2)
            return ray.get_runtime_context().get_node_id()

        nodes = {{node["NodeID"]: node["Resources"] for node in ray.nodes() if node["Alive"]}}
        pinned = {{
            node: ray.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote())
            for node in nodes
        }}
        spread = ray.get([held.options(scheduling_strategy="SPREAD").remote() for _ in range(2)])
        print(json.dumps({{"nodes": nodes, "pinned": pinned, "spread": spread}}))
        """,
    )
    nodes = report["nodes"]
    assert len(nodes) == 2
    assert report["pinned"] == {node: node for node in nodes}  # each node ran the task pinned to it
    assert sorted(report["spread"]) == sorted(nodes)  # two 1-CPU tasks at once: one per node
    for resources in nodes.values():  # the per-node caps of the fixture
        assert resources["CPU"] == 1
        assert resources["memory"] == 2048 * 2**20
        assert resources["object_store_memory"] == 300 * 2**20
    assert sum("node:__internal_head__" in resources for resources in nodes.values()) == 1


def test_job_submission_with_token(ray_cluster: LocalRayCluster) -> None:
    """The Jobs API with the token from the environment (RAY_AUTH_MODE + RAY_AUTH_TOKEN_PATH). The
    entrypoint's shell variables are expanded where the job driver runs, on the head node, from the
    cluster's environment: what the RayJob manifest relies on for `--db $ARCHSCALE_DB`."""
    entrypoint = f'echo "marker=${MARKER}" && python -c "import ray; ray.init(); print(ray.cluster_resources())"'
    report = run_client(
        ray_cluster,
        f"""
        import json, time
        from ray.job_submission import JobSubmissionClient
        from ray.util.state import list_nodes

        client = JobSubmissionClient({ray_cluster.dashboard_url!r})
        job = client.submit_job(entrypoint={entrypoint!r})
        deadline = time.monotonic() + 60
        while not client.get_job_status(job).is_terminal() and time.monotonic() < deadline:
            time.sleep(0.5)
        info = client.get_job_info(job)
        head = [n.node_id for n in list_nodes(address={ray_cluster.dashboard_url!r}) if n.is_head_node]
        print(json.dumps({{"status": str(info.status), "driver_on_head": [info.driver_node_id] == head,
                          "logs": client.get_job_logs(job)}}))
        """,
    )
    assert report["status"] == "SUCCEEDED", report["logs"]
    assert report["driver_on_head"]
    assert "'CPU': 2.0" in report["logs"]
    assert "'memory': 4294967296.0" in report["logs"]
    assert f"marker={os.readlink(ray_cluster.directory / 'nodes')}" in report["logs"]
    assert f"marker=${MARKER}" in report["logs"]  # Ray logs the entrypoint unexpanded (no secrets)


def test_job_submission_with_explicit_header(ray_cluster: LocalRayCluster) -> None:
    """Without RAY_AUTH_* in the environment, JobSubmissionClient(headers=...) authenticates too."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    token = Path(ray_cluster.env["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    report = run_client(
        ray_cluster,
        f"""
        import json
        from ray.job_submission import JobSubmissionClient

        client = JobSubmissionClient({ray_cluster.dashboard_url!r}, headers={{"Authorization": "Bearer {token}"}})
        print(json.dumps([job.submission_id for job in client.list_jobs()]))
        """,
        env=env,
    )
    assert isinstance(report, list)


def test_dashboard_requires_the_token(ray_cluster: LocalRayCluster) -> None:
    url = f"{ray_cluster.dashboard_url}/api/jobs/"
    assert url.startswith("http://127.0.0.1:")  # bound to the loopback interface only
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as forbidden:
        urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer wrong"}), timeout=10)
    assert forbidden.value.code == 403
    token = Path(ray_cluster.env["RAY_AUTH_TOKEN_PATH"]).read_text().strip()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def test_status_and_env(ray_cluster: LocalRayCluster) -> None:
    status = ray_cluster_script("status", str(ray_cluster.directory))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "node h: up" in status.stdout
    assert "node w1: up" in status.stdout
    assert ray_cluster.env["RAY_AUTH_MODE"] == "token"
    token_file = Path(ray_cluster.env["RAY_AUTH_TOKEN_PATH"])
    assert token_file.parent == ray_cluster.directory
    assert token_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert len(os.readlink(ray_cluster.directory / "nodes")) < 20  # room for Ray's socket paths


def test_stop_tolerates_a_half_started_cluster(ray_cluster: LocalRayCluster, tmp_path: Path) -> None:
    """State written, one process started, nothing else: `stop` kills that process, cleans up, and
    leaves every other Ray process on the machine alone (here: the session's cluster).

    That `stop` leaves nothing of a real two-node cluster behind is checked when the session's
    cluster is stopped (the `ray_cluster` fixture's teardown)."""
    session_dir = os.readlink(ray_cluster.directory / "nodes")
    session_pids = core_pids(session_dir)
    assert len(session_pids) == 3  # the GCS server and two raylets
    short_dir = Path(f"/tmp/asr.test{os.getpid()}")
    short_dir.mkdir()
    (tmp_path / "cluster.env").write_text(f'SHORT={short_dir}\nNODES="h w1"\nGCS_PORT=1\nDASHBOARD_PORT=1\n')
    stray = subprocess.Popen(["sleep", "60"], env={**os.environ, MARKER: str(short_dir)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 10  # /proc shows the new environment once the child has exec'd
        while ray_cluster_pids(str(short_dir)) != [stray.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ray_cluster_pids(str(short_dir)) == [stray.pid]
        stopped = ray_cluster_script("stop", str(tmp_path))
        assert stopped.returncode == 0, stopped.stderr
        assert stray.wait(timeout=10) == -signal.SIGTERM
        assert not short_dir.exists()
    finally:
        if stray.poll() is None:
            stray.kill()
        if short_dir.exists():
            short_dir.rmdir()
    assert core_pids(session_dir) == session_pids
    assert ray_cluster_script("status", str(ray_cluster.directory)).returncode == 0
    # and with nothing to stop at all
    assert ray_cluster_script("stop", str(tmp_path)).returncode == 0
    assert ray_cluster_script("status", str(tmp_path)).returncode == 3


def test_start_refuses_a_running_cluster(ray_cluster: LocalRayCluster) -> None:
    began = time.monotonic()
    again = ray_cluster_script("start", str(ray_cluster.directory))
    assert again.returncode == 2
    assert "already running" in again.stderr
    assert time.monotonic() - began < 10
