"""Backups: the recorded runs, and (admins, `backups:write`) start one or verify one.

Both are long jobs in a worker. Their progress (tables dumped, archive entries restored)
is in Redis (`pipeline.backups.progress`); the page polls a fragment with htmx once a
second while a job is unfinished, and the last poll brings the new run into the table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.render import render
from api.console.validation import path_id, sentence
from api.deps import RuntimeDep, UnitOfWorkDep
from api.errors import ProblemError
from api.routes.backups import board, queue_backup, queue_verify
from api.runtime import ApiRuntime
from pipeline.backups import repository, runs

router = APIRouter(prefix="/admin/backups", include_in_schema=False)
Reader = Annotated[Console, Depends(require("backups:read"))]
Writer = Annotated[Console, Depends(require("backups:write"))]
RunId = Annotated[int, path_id("run_id", "backup run")]
HOME = "/admin/backups"


def _render(
    request: Request, console: Console, session: Session, runtime: ApiRuntime, template: str
) -> Response:
    jobs = board(runtime).jobs()
    return render(
        request, template, console, active="backups",
        jobs=jobs, polling=any(j.awaited() for j in jobs), rows=repository.recent_runs(session),
    )  # fmt: skip


def _after_action(
    request: Request, console: Console, uow: UnitOfWorkDep, runtime: ApiRuntime, done: str
) -> Response:
    """htmx: the refreshed fragment (its polling starts); a plain form: back to the page."""
    if request.headers.get("hx-request") == "true":
        return _render(request, console, uow.session, runtime, "_backup_jobs.html")
    flash(runtime, console, done)
    return RedirectResponse(HOME, status_code=303)


@router.get("")
def backups_page(
    request: Request, console: Reader, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> Response:
    return _render(request, console, uow.session, runtime, "backups.html")


@router.get("/jobs")
def jobs_fragment(
    request: Request, console: Reader, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> Response:
    return _render(request, console, uow.session, runtime, "_backup_jobs.html")


@router.post("")
def start(
    request: Request, console: Writer, _form: CsrfForm, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> Response:
    try:
        queue_backup(runtime)
    except ProblemError as exc:
        raise ConsoleError(exc.status, sentence(exc.detail or exc.title)) from None
    return _after_action(request, console, uow, runtime, "Backup started.")


@router.post("/{run_id}/verify")
def verify(
    request: Request,
    console: Writer,
    run_id: RunId,
    _form: CsrfForm,
    uow: UnitOfWorkDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        runs.verifiable(uow.session, run_id)
        queue_verify(runtime, uow, run_id)
    except runs.RunRefused as exc:
        raise ConsoleError(exc.status, sentence(exc)) from None
    except ProblemError as exc:
        raise ConsoleError(exc.status, sentence(exc.detail or exc.title)) from None
    return _after_action(request, console, uow, runtime, f"Verification of run {run_id} started.")
