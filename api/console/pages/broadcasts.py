"""Broadcasts: compose (text, language, audience), preview, start, a live progress bar
(the `broadcasts` topic of /api/v1/ws) and cancel."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.render import render
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep
from pipeline.backoffice import broadcasts
from pipeline.notifications import broadcast, broadcast_admin
from pipeline.notifications.announce import kick_sender

router = APIRouter(prefix="/admin", include_in_schema=False)
Viewer = Annotated[Console, Depends(require("broadcasts:read"))]
Sender = Annotated[Console, Depends(require("broadcasts:write"))]
BroadcastId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TEXT_MAX = 4096
AUDIENCES = {"active": "Everyone who has not blocked the bot"}


def _composed(form: dict[str, str]) -> tuple[str, str | None]:
    """The text and language of a compose form, or a 422 saying what is wrong."""
    text = form.get("text", "").strip()
    if not text or len(text) > TEXT_MAX:
        raise ConsoleError(422, f"Write a message of 1 to {TEXT_MAX} characters.")
    language = form.get("language", "") or None
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        raise ConsoleError(422, "Pick a language from the list.")
    if form.get("audience", "active") not in AUDIENCES:
        raise ConsoleError(422, "Pick an audience from the list.")
    return text, language


@router.get("/broadcasts")
def broadcast_list(request: Request, console: Viewer, session: SessionDep) -> Response:
    return render(
        request, "broadcasts.html", console, active="broadcasts",
        rows=broadcasts.recent(session), languages=broadcasts.languages(session),
        audiences=AUDIENCES, text_max=TEXT_MAX,
    )  # fmt: skip


@router.post("/broadcasts/preview")
def preview(request: Request, console: Sender, form: CsrfForm, session: SessionDep) -> Response:
    text, language = _composed(form)
    return render(
        request, "_broadcast_preview.html", console, text=text, language=language or "",
        audience=form.get("audience", "active"), reach=broadcasts.audience_size(session, language),
    )  # fmt: skip


@router.post("/broadcasts")
def start(console: Sender, form: CsrfForm, uow: UnitOfWorkDep, runtime: RuntimeDep) -> Response:
    """The same start as `POST /api/v1/broadcasts`: outbox rows now, sent by the workers."""
    text, language = _composed(form)
    started = broadcast.start(uow.session, text, language)
    kick_sender(uow)  # beat sweeps the outbox too: a lost message only delays
    flash(runtime, console, f"Broadcast started to {started.total} customers.")
    return RedirectResponse(f"/admin/broadcasts/{started.id}", status_code=303)


@router.get("/broadcasts/{broadcast_id}")
def broadcast_page(
    request: Request, broadcast_id: BroadcastId, console: Viewer, session: SessionDep
) -> Response:
    found = broadcasts.one(session, broadcast_id)
    if found is None:
        raise ConsoleError(404, f"There is no broadcast {broadcast_id}.")
    return render(request, "broadcast.html", console, active="broadcasts", b=found)


@router.post("/broadcasts/{broadcast_id}/cancel")
def cancel(
    broadcast_id: BroadcastId,
    console: Sender,
    _form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    found = broadcasts.locked(session, broadcast_id)
    if found is None:
        raise ConsoleError(404, f"There is no broadcast {broadcast_id}.")
    if found.status != "running":
        raise ConsoleError(409, f"Broadcast {broadcast_id} is {found.status} already.")
    skipped = broadcast_admin.cancel(session, found)
    flash(runtime, console, f"Broadcast canceled: {skipped} messages will not be sent.")
    return RedirectResponse(f"/admin/broadcasts/{broadcast_id}", status_code=303)
