"""SQL of raw-body retention (pipeline.events.retention): the id range to walk, and one
bounded batch of it. Functions take a session and never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from schema.events import Event, EventStatus

PRUNED_STATUSES = (EventStatus.PROCESSED.value, EventStatus.IGNORED.value)


def id_bounds(session: Session, older_than: datetime) -> tuple[int, int] | None:
    """[first id, last id] of the events that may be old enough, both through an index."""
    low = session.execute(select(func.min(Event.id))).scalar()
    high = session.execute(
        select(Event.id)
        .where(Event.received_at < older_than)
        .order_by(Event.received_at.desc(), Event.id.desc())  # ties: an incremental sort
        .limit(1)
    ).scalar()
    if low is None or high is None:
        return None
    return int(low), int(high)


def prune_window(session: Session, older_than: datetime, low: int, high: int) -> int:
    """Drop the raw bodies of processed/ignored events older than the cutoff among ids
    [low, high); the rows (payload, status, history) stay."""
    result = session.execute(
        update(Event)
        .where(
            Event.id >= low,
            Event.id < high,
            Event.status.in_(PRUNED_STATUSES),
            Event.processed_at < older_than,
            Event.raw_body.is_not(None),
        )
        .values(raw_body=None),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
