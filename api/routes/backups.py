"""Backups: the recorded runs, start one now, verify one (both run in a worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.pagination import CursorQuery, LimitQuery, Page, keyset_page
from api.routes.queueing import task_sender
from api.runtime import ApiRuntime
from pipeline.backups import repository, runs
from pipeline.backups.progress import Job, ProgressBoard, new_job_id
from pipeline.messaging.queues import MAINTENANCE, TASK_BACKUP, TASK_VERIFY_BACKUP
from pipeline.messaging.tasks import TaskSender
from pipeline.unit_of_work import UnitOfWork

router = APIRouter(prefix="/backups", tags=["backups"])
Reader = Annotated[Principal, Depends(require("backups:read"))]
Writer = Annotated[Principal, Depends(require("backups:write"))]
DENIED = error_responses(401, 403, 429)


class BackupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    started_at: datetime
    finished_at: datetime | None
    ok: bool
    file: str | None
    size_bytes: int | None
    sha256: str | None
    error: str | None
    verified_at: datetime | None = Field(description="Last restore check, if any")
    verify_error: str | None = Field(description="Null after a good check")


class BackupPage(Page):
    items: list[BackupOut]


class Queued(BaseModel):
    queued: str = Field(examples=["workers.backup"])
    job: str = Field(description="Its progress id (the console's progress bar)")


def board(runtime: ApiRuntime) -> ProgressBoard:
    return ProgressBoard(runtime.redis, runtime.settings.queue_prefix, runtime.deps.redactor)


def _send(runtime: ApiRuntime, sender: TaskSender, job: Job, name: str, *args: object) -> None:
    """Send the job's task; a broker that refuses it marks the job failed (and 503s)."""
    try:
        sender.send(name, MAINTENANCE, *args, job.id)
    except Exception as exc:
        reason = type(exc).__name__  # not the message: it may spell out the broker's URL
        logger.warning("{} not queued: {}", name, reason)
        board(runtime).tracker(job).finish(f"not queued: the broker refused it ({reason})")
        raise ProblemError(503, None, "the broker did not take the task; try again") from None


def queue_backup(runtime: ApiRuntime) -> Job:
    """Send a backup task now, shown as queued until a worker picks it up."""
    sender = task_sender(runtime)  # 503 before anything when no broker is configured
    job = Job(id=new_job_id(), kind="backup")
    board(runtime).write(job)
    _send(runtime, sender, job, TASK_BACKUP)
    return job


def queue_verify(runtime: ApiRuntime, uow: UnitOfWork, run_id: int) -> Job:
    """Send a verify task once the request's transaction committed."""
    sender = task_sender(runtime)
    job = Job(id=new_job_id(), kind="verify", run_id=run_id)
    board(runtime).write(job)
    # After commit a refusal marks the job failed and is logged (the answer is 202).
    uow.after_commit(lambda: _send(runtime, sender, job, TASK_VERIFY_BACKUP, run_id))
    return job


@router.get("", responses={**DENIED, **error_responses(422)}, summary="List backup runs")
def list_backups(
    _: Reader, session: SessionDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> BackupPage:
    found = repository.recent_runs(session, limit + 1, before_id=cursor)
    rows, next_cursor = keyset_page(found, limit)
    return BackupPage(items=[BackupOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "", status_code=202, responses={**DENIED, **error_responses(503)}, summary="Start a backup"
)
def start_backup(_: Writer, runtime: RuntimeDep) -> Queued:
    """Queued for a worker; the run appears in the list when it finishes."""
    return Queued(queued=TASK_BACKUP, job=queue_backup(runtime).id)


@router.post(
    "/{run_id}/verify",
    status_code=202,
    responses={**DENIED, **error_responses(404, 409, 503)},
    summary="Verify a backup",
)
def verify_backup(run_id: IdPath, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep) -> Queued:
    """A worker restores it into a scratch database and compares every table's row
    count; `verified_at`/`verify_error` show the result."""
    try:
        runs.verifiable(uow.session, run_id)
    except runs.RunRefused as exc:
        raise ProblemError(exc.status, None, str(exc)) from None
    job = queue_verify(runtime, uow, run_id)
    return Queued(queued=TASK_VERIFY_BACKUP, job=job.id)
