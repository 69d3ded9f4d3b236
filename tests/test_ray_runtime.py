"""Embedded Ray sessions: a session that ends well stops Ray in the background; one that raises stops
it at once; the next session waits for the last one's shutdown. Real Ray."""

import shutil
import tempfile
from pathlib import Path

import pytest
import ray

from archscale.execution.ray_runtime import ray_session, wait_for_shutdown


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
