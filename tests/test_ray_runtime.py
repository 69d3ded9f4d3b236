"""Embedded Ray sessions: a session that ends well stops Ray in the background; one that raises stops
it at once; the next session waits for the last one's shutdown. Real Ray."""

import shutil
import signal
import tempfile
from pathlib import Path

import pytest
import ray
from ray._private import ray_constants, worker

from archscale.execution.ray_runtime import ray_session, stop_monitor, wait_for_shutdown


def test_a_session_stops_ray_in_the_background_and_the_next_one_waits(monkeypatch):
    ray_tmp = Path(tempfile.mkdtemp(prefix="asr-", dir="/tmp"))  # short: Ray's socket paths
    monkeypatch.setenv("ARCHSCALE_RAY_TMPDIR", str(ray_tmp))
    try:
        with ray_session("local") as cluster:
            assert cluster["CPU"] >= 1
        with ray_session("local"):  # starts only once the first session's Ray has stopped
            assert ray.is_initialized() and len(list(ray_tmp.glob("session_2*"))) == 2
        wait_for_shutdown()
        assert not ray.is_initialized()
        with pytest.raises(KeyError), ray_session("local"):
            raise KeyError("a failing study")
        assert not ray.is_initialized()  # stopped before the error left the block
    finally:
        wait_for_shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)



def test_stop_monitor_kills_embedded_rays_autoscaler_monitor_and_ray_still_stops_cleanly(monkeypatch):
    """What the shutdown does first, while Ray runs: the monitor dies of SIGKILL at once (Ray's own
    shutdown would SIGTERM it after stopping the GCS and wait a second for it); Ray then stops."""
    ray_tmp = Path(tempfile.mkdtemp(prefix="asr-", dir="/tmp"))
    monkeypatch.setenv("ARCHSCALE_RAY_TMPDIR", str(ray_tmp))
    try:
        with ray_session("local"):
            monitors = [i.process for i in worker._global_node.all_processes[ray_constants.PROCESS_TYPE_MONITOR]]
            assert len(monitors) == 1 and monitors[0].poll() is None
            assert stop_monitor()
            assert monitors[0].poll() == -signal.SIGKILL
            assert ray.is_initialized()
        wait_for_shutdown()
        assert not ray.is_initialized() and not stop_monitor()
    finally:
        wait_for_shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
