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
CANCELED = "broadcast canceled"  # the last_error of the rows a cancel skipped


def progress(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    mine = Notification.dedup_key.like(prefix(broadcast.id) + "%")
    by_cancel = func.coalesce(Notification.last_error == CANCELED, False).label("by_cancel")
    rows = session.execute(
        select(Notification.status, by_cancel, func.count())
        .where(mine)
        .group_by(Notification.status, by_cancel)
    ).all()
    counts: dict[str, int] = {}
    for status, canceled, n in rows:
        key = "canceled" if status == "skipped" and canceled else status
        counts[key] = counts.get(key, 0) + int(n)
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
        "canceled": counts.get("canceled", 0),  # not sent: the broadcast was canceled
        "created_at": broadcast.created_at,
        "finished_at": broadcast.finished_at,
    }


def cancel(session: Session, broadcast: Broadcast) -> int:
    """Stop sending: the unsent rows are skipped; how many."""
    mine = Notification.dedup_key.like(prefix(broadcast.id) + "%")
    result = session.execute(
        update(Notification)
        .where(mine, Notification.status.in_(OPEN))
        .values(status="skipped", last_error=CANCELED),
        execution_options={"synchronize_session": False},
    )
    broadcast.status = "canceled"
    broadcast.finished_at = datetime.now(UTC)
    return int(getattr(result, "rowcount", 0) or 0)
