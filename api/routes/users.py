"""Bot users: search, block (a ban by an operator) and unblock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.models.orders import UserOut, UserPage
from api.pagination import CursorQuery, LimitQuery, keyset_page
from pipeline.backoffice.repository import CustomerFilter, search_users
from pipeline.shop import blocking
from schema.users import User

router = APIRouter(prefix="/users", tags=["users"])
Reader = Annotated[Principal, Depends(require("users:read"))]
Writer = Annotated[Principal, Depends(require("users:write"))]
DENIED = error_responses(401, 403, 429)


@router.get("", responses={**DENIED, **error_responses(422)}, summary="List or search bot users")
def list_users(
    _: Reader,
    session: SessionDep,
    q: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Username, name or Telegram id")
    ] = None,
    active: bool | None = None,
    blocked: bool | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> UserPage:
    where = CustomerFilter(q, blocked=blocked, active=active)
    rows, next_cursor = keyset_page(search_users(session, where, cursor, limit + 1), limit)
    return UserPage(items=[UserOut.model_validate(r) for r in rows], next_cursor=next_cursor)


def _user(session: SessionDep, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise ProblemError(404, "Not Found", f"no user {user_id}")
    return user


class BlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=blocking.REASON_MAX, examples=["spam"])


@router.post(
    "/{user_id}/block",
    responses={**DENIED, **error_responses(404, 422)},
    summary="Block a user",
)
def block_user(
    user_id: IdPath,
    principal: Writer,
    session: SessionDep,
    body: Annotated[BlockRequest | None, Body()] = None,
) -> UserOut:
    """A ban: the bot ignores the user's messages, broadcasts and notifications skip them,
    the Mini App answers 403, until unblocked. Who blocked, when and why are kept."""
    user = _user(session, user_id)
    blocking.block(user, principal.name, body.reason if body else None)
    session.flush()
    session.refresh(user)
    return UserOut.model_validate(user)


@router.post(
    "/{user_id}/unblock", responses={**DENIED, **error_responses(404)}, summary="Unblock a user"
)
def unblock_user(user_id: IdPath, _: Writer, session: SessionDep) -> UserOut:
    user = _user(session, user_id)
    blocking.unblock(user)
    session.flush()
    session.refresh(user)
    return UserOut.model_validate(user)
