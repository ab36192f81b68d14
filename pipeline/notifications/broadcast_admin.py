"""Broadcasts as operators manage them from the API: progress from the outbox, cancel.

Starting one is `broadcast.start` (the outbox rows); the notification workers send them.
Functions take the session and never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pipeline.live import broadcasts as _live_broadcasts  # noqa: F401  (announces progress)
from pipeline.notifications.broadcast import prefix
from schema.messaging import Broadcast, Notification

OPEN = ("pending", "failed")


def progress(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    mine = Notification.dedup_key.like(prefix(broadcast.id) + "%")
    rows = session.execute(
        select(Notification.status, func.count()).where(mine).group_by(Notification.status)
    ).all()
    counts = {status: int(n) for status, n in rows}
    remaining = sum(counts.get(s, 0) for s in OPEN)
    return {
        "id": broadcast.id,
        "text": broadcast.text,
        "language": broadcast.language,
        "status": "done" if broadcast.status == "running" and not remaining else broadcast.status,
        "total": broadcast.total,
        "sent": counts.get("sent", 0),
        "failed": counts.get("dead", 0) + counts.get("skipped", 0),
        "remaining": remaining,
        "created_at": broadcast.created_at,
        "finished_at": broadcast.finished_at,
    }


def cancel(session: Session, broadcast: Broadcast) -> int:
    """Stop sending: the unsent rows are skipped; how many."""
    mine = Notification.dedup_key.like(prefix(broadcast.id) + "%")
    result = session.execute(
        update(Notification)
        .where(mine, Notification.status.in_(OPEN))
        .values(status="skipped", last_error="broadcast canceled"),
        execution_options={"synchronize_session": False},
    )
    broadcast.status = "canceled"
    broadcast.finished_at = datetime.now(UTC)
    return int(getattr(result, "rowcount", 0) or 0)
