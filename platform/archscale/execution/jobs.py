"""Cluster submission through the Ray Jobs API: the study file travels, the cluster runs
`archscale run` against its own Ray (`--address auto`) and the results database."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archscale.errors import UserError

if TYPE_CHECKING:
    from ray.job_submission import JobSubmissionClient

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


def submit(address: str, study: Path, options: StudyOptions, db_url: str | None) -> str:
    """Upload only the study YAML and start `archscale run` with `options` on the cluster; return the
    job id. `db_url` (when given) reaches the job as ARCHSCALE_DB; otherwise the cluster's own
    ARCHSCALE_DB (e.g. from a Kubernetes Secret) is used.
    """
    jobs = client(address)
    args = ["archscale", "run", study.name, "--address", "auto", *options.arguments()]
    env = {"ARCHSCALE_DB": db_url} if db_url else {}
    with tempfile.TemporaryDirectory(prefix="archscale-job-") as folder:
        shutil.copy(study, Path(folder) / study.name)
        try:
            return jobs.submit_job(
                entrypoint=shlex.join(args),
                runtime_env={"working_dir": folder, "env_vars": env},
                metadata={"archscale_study": study.name},
            )
        except RuntimeError as exc:
            raise UserError(f"the cluster refused the job: {str(exc).splitlines()[0]}") from None


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
