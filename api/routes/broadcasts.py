"""Broadcasts: create (text, language, audience), progress, cancel."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth.principal import Principal
from api.deps import SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.pagination import CursorQuery, LimitQuery, Page, keyset_page
from pipeline.backoffice.repository import recent_broadcasts
from pipeline.notifications import broadcast, broadcast_admin
from pipeline.notifications.announce import kick_sender
from schema.messaging import Broadcast

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])
Reader = Annotated[Principal, Depends(require("broadcasts:read"))]
Writer = Annotated[Principal, Depends(require("broadcasts:write"))]
DENIED = error_responses(401, 403, 429)


class Audience(StrEnum):
    active = "active"  # every user who has not blocked the bot


class BroadcastCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096, examples=["New prices from Monday."])
    language: str | None = Field(
        None, pattern=r"^[a-z]{2}$", description="Only users with this language; null: all"
    )
    audience: Audience = Audience.active


class BroadcastOut(BaseModel):
    id: int
    text: str
    language: str | None
    status: str = Field(examples=["running"], description="running, done or canceled")
    total: int
    sent: int
    failed: int
    remaining: int
    canceled: int = Field(0, description="Not sent because the broadcast was canceled")
    created_at: datetime
    finished_at: datetime | None


class BroadcastPage(Page):
    items: list[BroadcastOut]


def _found(session: SessionDep, broadcast_id: int) -> Broadcast:
    found = session.get(Broadcast, broadcast_id, with_for_update=True)
    if found is None:
        raise ProblemError(404, "Not Found", f"no broadcast {broadcast_id}")
    return found


def _out(data: dict[str, Any]) -> BroadcastOut:
    return BroadcastOut(**data)


@router.get("", responses={**DENIED, **error_responses(422)}, summary="List broadcasts")
def list_broadcasts(
    _: Reader, session: SessionDep, cursor: CursorQuery = None, limit: LimitQuery = 20
) -> BroadcastPage:
    found = recent_broadcasts(session, limit + 1, before_id=cursor)
    rows, next_cursor = keyset_page(found, limit)
    items = [_out(broadcast_admin.progress(session, b)) for b in rows]
    return BroadcastPage(items=items, next_cursor=next_cursor)


@router.post(
    "", status_code=201, responses={**DENIED, **error_responses(422)}, summary="Start a broadcast"
)
def create_broadcast(body: BroadcastCreate, _: Writer, uow: UnitOfWorkDep) -> BroadcastOut:
    """One outbox row per recipient, sent by the notification workers at the shared
    rate; the same text and language while one is running resumes that one."""
    created = broadcast.start(uow.session, body.text, body.language)
    kick_sender(uow)  # beat sweeps the outbox too: a lost message only delays
    return _out(broadcast_admin.progress(uow.session, created))


@router.get(
    "/{broadcast_id}", responses={**DENIED, **error_responses(404)}, summary="Broadcast progress"
)
def show_broadcast(broadcast_id: IdPath, _: Reader, session: SessionDep) -> BroadcastOut:
    return _out(broadcast_admin.progress(session, _found(session, broadcast_id)))


@router.post(
    "/{broadcast_id}/cancel",
    responses={**DENIED, **error_responses(404, 409)},
    summary="Cancel a broadcast",
)
def cancel_broadcast(broadcast_id: IdPath, _: Writer, session: SessionDep) -> BroadcastOut:
    found = _found(session, broadcast_id)
    if found.status != "running":
        raise ProblemError(409, "Conflict", f"broadcast {broadcast_id} is {found.status}")
    broadcast_admin.cancel(session, found)
    return _out(broadcast_admin.progress(session, found))
