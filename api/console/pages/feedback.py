"""The feedback inbox: threads with unread marks, one thread with its triage labels, and
a reply from the page (sent by the bot through the outbox, like the API's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import toast
from api.console.render import render
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep
from api.routes.feedback import ReplyRefused, send_reply
from pipeline.ai.client import configured as ai_configured
from pipeline.backoffice import feedback

router = APIRouter(prefix="/admin", include_in_schema=False)
Viewer = Annotated[Console, Depends(require("feedback:read"))]
Replier = Annotated[Console, Depends(require("feedback:write"))]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TEXT_MAX = 4096


@router.get("/feedback")
def inbox(
    request: Request,
    console: Viewer,
    session: SessionDep,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    rows, next_id = feedback.inbox(session, before)
    return render(request, "feedback.html", console, active="feedback", rows=rows, next_id=next_id)


@router.get("/feedback/{user_id}")
def thread_page(
    request: Request, user_id: UserId, console: Viewer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    found = feedback.thread(session, user_id)
    if found is None:
        raise ConsoleError(404, f"There is no customer {user_id}.")
    return render(
        request, "feedback_thread.html", console, active="feedback", thread=found,
        ai=ai_configured(runtime.settings), text_max=TEXT_MAX,
    )  # fmt: skip


@router.post("/feedback/{user_id}/reply")
def reply(
    request: Request,
    user_id: UserId,
    console: Replier,
    form: CsrfForm,
    uow: UnitOfWorkDep,
    runtime: RuntimeDep,
) -> Response:
    text = form.get("text", "").strip()
    if not text or len(text) > TEXT_MAX:
        raise ConsoleError(422, f"Write a reply of 1 to {TEXT_MAX} characters.")
    user = feedback.customer(uow.session, user_id)
    if user is None:
        raise ConsoleError(404, f"There is no customer {user_id}.")
    try:
        sent = send_reply(uow, runtime, user, text)
    except ReplyRefused as exc:
        raise ConsoleError(409, f"Not sent: {exc}.") from exc
    item = feedback.message(uow.session, sent.id)
    response = render(request, "_feedback_message.html", console, m=item, ai=False)
    return toast(response, "Reply sent: the bot delivers it.")
