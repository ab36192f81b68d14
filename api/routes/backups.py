"""Backups: the recorded runs, start one now, verify one (both run in a worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.pagination import CursorQuery, LimitQuery, Page, keyset
from api.routes.queueing import MAINTENANCE, publisher, send_task
from pipeline.messaging.queues import TASK_BACKUP, TASK_VERIFY_BACKUP
from schema.operations import BackupRun

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


@router.get("", responses={**DENIED, **error_responses(422)}, summary="List backup runs")
def list_backups(
    _: Reader, session: SessionDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> BackupPage:
    rows, next_cursor = keyset(session, select(BackupRun), BackupRun.id, cursor, limit)
    return BackupPage(items=[BackupOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "", status_code=202, responses={**DENIED, **error_responses(503)}, summary="Start a backup"
)
def start_backup(_: Writer, runtime: RuntimeDep) -> Queued:
    """Queued for a worker; the run appears in the list when it finishes."""
    publisher(runtime)  # 503 before anything when no broker is configured
    send_task(runtime, TASK_BACKUP, MAINTENANCE)
    return Queued(queued=TASK_BACKUP)


@router.post(
    "/{run_id}/verify",
    status_code=202,
    responses={**DENIED, **error_responses(404, 409, 503)},
    summary="Verify a backup",
)
def verify_backup(run_id: IdPath, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep) -> Queued:
    """A worker restores it into a scratch database and compares every table's row
    count; `verified_at`/`verify_error` show the result."""
    run = uow.session.get(BackupRun, run_id)
    if run is None:
        raise ProblemError(404, "Not Found", f"no backup run {run_id}")
    if not run.ok or not run.file:
        raise ProblemError(409, "Conflict", f"backup run {run_id} has no file to verify")
    publisher(runtime)
    uow.after_commit(lambda: send_task(runtime, TASK_VERIFY_BACKUP, MAINTENANCE, run_id))
    return Queued(queued=TASK_VERIFY_BACKUP)
