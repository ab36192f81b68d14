"""Bot users: search, block and unblock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import String, cast, or_, select

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.models.orders import UserOut, UserPage
from api.pagination import CursorQuery, LimitQuery, keyset
from pipeline.shop.service import deactivate, reactivate
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
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> UserPage:
    stmt = select(User)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.first_name.ilike(pattern, escape="\\"),
                cast(User.telegram_id, String) == q,
            )
        )
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    rows, next_cursor = keyset(session, stmt, User.id, cursor, limit)
    return UserPage(items=[UserOut.model_validate(r) for r in rows], next_cursor=next_cursor)


def _user(session: SessionDep, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise ProblemError(404, "Not Found", f"no user {user_id}")
    return user


@router.post(
    "/{user_id}/block", responses={**DENIED, **error_responses(404)}, summary="Block a user"
)
def block_user(user_id: IdPath, _: Writer, session: SessionDep) -> UserOut:
    """No broadcasts or notifications go to an inactive user; the user's next /start
    makes them active again (as when they unblock the bot themselves)."""
    user = _user(session, user_id)
    deactivate(user)
    session.flush()
    session.refresh(user)
    return UserOut.model_validate(user)


@router.post(
    "/{user_id}/unblock", responses={**DENIED, **error_responses(404)}, summary="Unblock a user"
)
def unblock_user(user_id: IdPath, _: Writer, session: SessionDep) -> UserOut:
    user = _user(session, user_id)
    reactivate(user)
    session.flush()
    session.refresh(user)
    return UserOut.model_validate(user)
