"""Cluster submission through the Ray Jobs API: the study with its code and data travels
(`archscale.execution.shipping`), the cluster runs `archscale run` against its own Ray
(`--address auto`) and the results database."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archscale.errors import UserError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

    from archscale.execution.shipping import Shipment

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def client(address: str) -> JobSubmissionClient:
    """A Jobs API client for `http://HEAD:8265` (Ray's token, if any, comes from RAY_AUTH_TOKEN /
    RAY_AUTH_TOKEN_PATH as for every Ray client)."""
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot reach the Ray Jobs API at {address}: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class StudyOptions:
    """The study options `archscale run` takes, passed on to the job's `archscale run`."""

    overrides: tuple[str, ...] = ()
    new_name: str | None = None
    resume: bool = False
    upgrade_db: bool = False

    def arguments(self) -> list[str]:
        args = [f"--set={o}" for o in self.overrides]
        args += [f"--new-name={self.new_name}"] if self.new_name else []
        args += ["--resume"] if self.resume else []
        return args + (["--upgrade-db"] if self.upgrade_db else [])


def submit(address: str, study: Path, shipment: Shipment, options: StudyOptions, db_url: str | None) -> str:
    """Start `archscale run` with `options` on the cluster, with the code and data of `shipment`
    (`archscale.execution.shipping`); return the job id. `db_url` (when given) reaches the job as
    ARCHSCALE_DB; otherwise the cluster's own ARCHSCALE_DB (e.g. from a Kubernetes Secret) is used.
    """
    from ray.exceptions import RayError

    from archscale.execution.shipping import EXCLUDES

    jobs = client(address)
    overrides = [f"--set={o}" for o in shipment.overrides]
    args = ["archscale", "run", shipment.study, "--address", "auto", *options.arguments(), *overrides]
    env = {"ARCHSCALE_DB": db_url} if db_url else {}
    with ExitStack() as stack:
        folder = shipment.working_dir or _alone(study, stack)
        runtime_env: dict[str, Any] = {"working_dir": str(folder), "env_vars": env, "excludes": EXCLUDES}
        if shipment.py_modules:
            runtime_env["py_modules"] = [str(_folder(p, stack)) for p in shipment.py_modules]
        try:
            return jobs.submit_job(
                entrypoint=shlex.join(args), runtime_env=runtime_env, metadata={"archscale_study": study.name}
            )
        except (RuntimeError, ValueError, RayError) as exc:
            raise UserError(f"the cluster refused the job: {str(exc).splitlines()[0]}") from None


def _alone(study: Path, stack: ExitStack) -> Path:
    """A temporary folder (open as long as `stack`) holding a copy of `study` alone."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="archscale-job-")))
    shutil.copy(study, folder / study.name)
    return folder


def _folder(module: Path, stack: ExitStack) -> Path:
    """`module` as a folder Ray's Jobs API ships (it ships folders only): a package's own folder, or
    for a one-file module `name.py` a temporary package `name` with that file as its `__init__.py`."""
    if module.is_dir():
        return module
    package = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="archscale-module-"))) / module.stem
    package.mkdir()
    shutil.copy(module, package / "__init__.py")
    return package


def status(address: str, job_id: str) -> dict[str, str | None]:
    jobs = client(address)
    try:
        info = jobs.get_job_info(job_id)
    except RuntimeError:
        raise UserError(f"no job '{job_id}' on {address}") from None
    return {"job": job_id, "status": str(info.status), "entrypoint": info.entrypoint, "message": info.message}


def logs(address: str, job_id: str, follow: bool) -> Iterator[str]:
    """The job's output so far, or (with `follow`) streamed until the job ends."""
    import asyncio

    jobs = client(address)
    try:
        if not follow:
            yield jobs.get_job_logs(job_id)
            return
        stream = jobs.tail_job_logs(job_id)
        loop = asyncio.new_event_loop()
        try:
            while True:
                try:
                    yield loop.run_until_complete(stream.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            loop.close()
    except RuntimeError:
        raise UserError(f"no job '{job_id}' on {address}") from None
