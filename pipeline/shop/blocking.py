"""Operators block bot users: a ban, unlike `is_active` (the user blocking the bot).

A blocked user's updates get no handling from the bot (bot.middlewares), broadcasts and
notifications skip them (pipeline.notifications), the Mini App answers 403. Unblocking
restores all of it. Callers commit.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.orm import Session

from pipeline.shop import repository
from schema.users import User

REASON_MAX = 500


def block(user: User, by: str, reason: str | None = None) -> None:
    """Block the user; blocking again keeps the first who/when and updates the reason."""
    if not user.blocked:
        user.blocked = True
        user.blocked_since = func.now()
        user.blocked_by = by[:254]
    user.blocked_reason = reason.strip()[:REASON_MAX] if reason and reason.strip() else None


def unblock(user: User) -> None:
    user.blocked = False
    user.blocked_since = None
    user.blocked_by = None
    user.blocked_reason = None


def is_blocked(session: Session, telegram_id: int) -> bool:
    return repository.is_blocked(session, telegram_id)
