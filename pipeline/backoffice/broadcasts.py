"""Broadcasts for the console: recent ones with their progress, one in full, the audience
a new one would reach, and the languages customers use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.backoffice import repository
from pipeline.notifications import broadcast_admin
from pipeline.notifications.broadcast_repository import audience_size
from schema.messaging import Broadcast

RECENT = 20

__all__ = ["audience_size", "languages", "locked", "one", "recent"]


def recent(session: Session, limit: int = RECENT) -> list[dict[str, Any]]:
    rows = repository.recent_broadcasts(session, limit)
    return [broadcast_admin.progress(session, b) for b in rows]


def one(session: Session, broadcast_id: int) -> dict[str, Any] | None:
    found = session.get(Broadcast, broadcast_id)
    return broadcast_admin.progress(session, found) if found is not None else None


def languages(session: Session) -> list[str]:
    return repository.customer_languages(session)


def locked(session: Session, broadcast_id: int) -> Broadcast | None:
    """The broadcast, locked for a change (cancel)."""
    return session.get(Broadcast, broadcast_id, with_for_update=True)
