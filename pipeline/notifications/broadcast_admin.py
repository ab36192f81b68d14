"""Broadcasts as operators manage them from the API: progress from the outbox, cancel.

Starting one is `broadcast.start` (the outbox rows); the notification workers send them.
Functions take the session and never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from pipeline.live import broadcasts as _live_broadcasts  # noqa: F401  (announces progress)
from pipeline.notifications import broadcast_repository as repository
from pipeline.notifications.repository import OPEN
from schema.messaging import Broadcast


def progress(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    counts = repository.status_counts(session, broadcast.id)
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
    skipped = repository.skip_open(session, broadcast.id)
    broadcast.status = "canceled"
    broadcast.finished_at = datetime.now(UTC)
    return skipped
