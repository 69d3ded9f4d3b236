"""Starting or joining Ray: embedded local Ray by default, or a cluster by address."""

from __future__ import annotations

import gc
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archscale.errors import UserError

SOCKET_SAFE_LENGTH = 40
REACH_TIMEOUT_S = 5.0
EMBEDDED_SYSTEM_CONFIG = {"enable_worker_prestart": False, "prestart_worker_first_driver": False}
"""Embedded Ray starts no idle workers ahead of demand: Tune's trial actors never use them (Ray 2.60
starts fresh processes for actors and stops the idle ones), so they only took CPU from the start-up."""


def ray_temp_dir() -> Path:
    """Ray's temp files for embedded runs, private to this user and never Ray's shared default:
    $ARCHSCALE_RAY_TMPDIR, else the user cache (~/.cache/archscale/ray) when its path is short enough
    for Ray's unix sockets (limited to ~107 bytes with the session folders below), else
    $TMPDIR/archscale-ray-UID."""
    explicit = os.environ.get("ARCHSCALE_RAY_TMPDIR")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "archscale" / "ray"
    if explicit:
        base = Path(explicit)
    elif len(str(cache)) <= SOCKET_SAFE_LENGTH:
        base = cache
    else:
        base = Path(tempfile.gettempdir()) / f"archscale-ray-{os.getuid()}"
    base.mkdir(parents=True, exist_ok=True)
    return base


@contextmanager
def ray_session(address: str) -> Iterator[dict[str, float]]:
    """Start embedded Ray (`local`) or connect to a cluster (`auto`, `HOST:PORT`, `ray://...`); yield
    the cluster's resources and shut the connection down afterwards: at once when the block raised,
    else in the background (`wait_for_shutdown` waits for it; so does the next session)."""
    import ray

    wait_for_shutdown()

    kwargs: dict[str, object] = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
    if address == "local":
        # Embedded workers start in the driver's directory, with it on their sys.path (Ray's rule for a
        # local driver without a working_dir), and inherit its environment: they import the user's code as
        # the driver does, and no runtime_env is needed (one would cost each worker a second to start).
        os.environ.setdefault("RAY_TMPDIR", str(ray_temp_dir()))
        kwargs |= {
            "include_dashboard": False,
            "_temp_dir": str(ray_temp_dir()),
            "num_cpus": os.cpu_count(),
            "_system_config": EMBEDDED_SYSTEM_CONFIG,
        }
    else:
        check_reachable(address)
        kwargs["address"] = address
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Tune's experiment snapshots serve Tune's own restore; archscale resumes from its database instead.
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "600")
    try:
        ray.init(**kwargs)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise UserError(f"cannot start or reach Ray at '{address}': {str(exc).splitlines()[0]}") from None
    try:
        yield {k: float(v) for k, v in ray.cluster_resources().items()}
    except BaseException:
        _stop_ray()
        raise
    _SHUTDOWN.start()


def _stop_ray() -> None:
    """`ray.shutdown()`, after killing embedded Ray's autoscaler monitor (`stop_monitor`)."""
    import ray

    stop_monitor()
    ray.shutdown()


def stop_monitor() -> bool:
    """Kill the autoscaler monitor that embedded Ray started (none when connected to a cluster); return
    whether one was running. Ray 2.60's `ray.shutdown()` stops the GCS first and then sends the monitor
    SIGTERM, whose handler tries to report to the stopped GCS until Ray kills it a second later: a
    second of every embedded shutdown. The monitor only autoscales, which a one-machine Ray never does."""
    from ray._private import ray_constants, worker

    node = worker._global_node
    processes = [] if node is None else node.all_processes.get(ray_constants.PROCESS_TYPE_MONITOR, [])
    for info in processes:
        info.process.kill()
        info.process.wait()
    return bool(processes)


class _BackgroundShutdown:
    """`ray.shutdown()` in a thread after a session that ended well: embedded Ray stops its processes one
    after the other (over a second), while the driver finishes its own work (the study's last rows, the
    comparison). The next session, and the interpreter's exit, wait for it."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Collect the driver's garbage while Ray still runs, then stop Ray with the garbage collector
        off: a Ray object freed by a collection during the shutdown would stop the process."""
        gc.collect()
        gc.disable()
        self._thread = threading.Thread(target=self._shutdown, name="archscale-ray-shutdown")
        self._thread.start()

    @staticmethod
    def _shutdown() -> None:
        try:
            _stop_ray()
        finally:
            gc.enable()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


_SHUTDOWN = _BackgroundShutdown()


def wait_for_shutdown() -> None:
    """Return once the last session's background `ray.shutdown()` has finished."""
    _SHUTDOWN.wait()


def check_reachable(address: str) -> None:
    """Raise UserError when a `HOST:PORT` or `ray://HOST:PORT` address accepts no connection within
    REACH_TIMEOUT_S (Ray itself retries for minutes); `auto` is left to Ray."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=REACH_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot start or reach Ray at '{address}': {reason}") from None
