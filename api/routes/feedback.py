"""Feedback: threads per user, the messages of one, and replies through the bot."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.pagination import CursorQuery, LimitQuery, Page
from api.runtime import ApiRuntime
from pipeline.backoffice.repository import latest_feedback
from pipeline.live.channel import Topic, announce
from pipeline.notifications.announce import kick_sender
from pipeline.shop.feedback_threads import reply_from_console, threads
from pipeline.unit_of_work import UnitOfWork
from schema.users import User

router = APIRouter(prefix="/feedback", tags=["feedback"])
Reader = Annotated[Principal, Depends(require("feedback:read"))]
Writer = Annotated[Principal, Depends(require("feedback:write"))]
DENIED = error_responses(401, 403, 429)


class Thread(BaseModel):
    user_id: int
    username: str | None
    first_name: str | None
    messages: int
    last_id: int
    last_text: str
    last_direction: str = Field(description="in: from the user; out: an operator's reply")
    last_at: datetime


class ThreadPage(Page):
    items: list[Thread]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    direction: str
    text: str
    created_at: datetime
    # Labels (topic, urgency, sentiment, language), a reply draft and any hand-off reason.
    triage: dict[str, Any] | None = None


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096, examples=["Thank you, we are on it."])


@router.get("/threads", responses={**DENIED, **error_responses(422)}, summary="Feedback threads")
def list_threads(
    _: Reader, session: SessionDep, cursor: CursorQuery = None, limit: LimitQuery = 50
) -> ThreadPage:
    """Newest conversation first; `next_cursor` is the last message id of the page."""
    rows = threads(session, limit + 1, cursor)
    more = len(rows) > limit
    rows = rows[:limit]
    return ThreadPage(
        items=[Thread(**row) for row in rows],
        next_cursor=rows[-1]["last_id"] if more and rows else None,
    )


def _user(session: SessionDep, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise ProblemError(404, "Not Found", f"no user {user_id}")
    return user


@router.get(
    "/threads/{user_id}",
    responses={**DENIED, **error_responses(404)},
    summary="Messages of one thread",
)
def thread_messages(user_id: IdPath, _: Reader, session: SessionDep) -> list[MessageOut]:
    _user(session, user_id)
    return [MessageOut.model_validate(m) for m in latest_feedback(session, user_id, None)]


@router.post(
    "/threads/{user_id}/reply",
    status_code=201,
    responses={**DENIED, **error_responses(404, 409, 422)},
    summary="Reply to a user (sent by the bot)",
)
def reply(
    user_id: IdPath, body: Reply, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> MessageOut:
    """Stored in the thread and delivered through the bot's outbox after commit."""
    user = _user(uow.session, user_id)
    try:
        return send_reply(uow, runtime, user, body.text)
    except ReplyRefused as exc:
        raise ProblemError(409, "Conflict", str(exc)) from exc


class ReplyRefused(Exception):
    """The user cannot be written to (shown to the operator)."""


def send_reply(uow: UnitOfWork, runtime: ApiRuntime, user: User, text: str) -> MessageOut:
    """An operator's reply (API or console): stored in the thread, sent through the bot's
    outbox and announced on the live channel once committed."""
    if not user.is_active:
        raise ReplyRefused(f"user {user.id} has blocked the bot")
    if user.blocked:
        raise ReplyRefused(f"user {user.id} is blocked; unblock to reply")
    message = reply_from_console(uow.session, user, text, runtime.settings.operator_chat_id or 0)
    out = MessageOut.model_validate(message)
    kick_sender(uow)  # beat sweeps the outbox too: a lost message only delays
    uow.after_commit(
        lambda: announce(
            runtime.deps, Topic.FEEDBACK, [{"user_id": user.id, **out.model_dump(mode="json")}]
        )
    )
    return out
