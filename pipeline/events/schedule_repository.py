"""SQL of the retries the database carries (pipeline.events.schedule). Functions take a
session and never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.events.schedule import RETRY_MESSAGE_MAX_S
from schema.events import Event, EventStatus
from schema.operations import EventAttempt


def due_database_retries(session: Session, now: datetime, limit: int) -> list[int]:
    """Failed events due now whose retry has no message (the delay set at their last
    failed attempt was longer than RETRY_MESSAGE_MAX_S): no grace for them."""
    attempt = EventAttempt
    scheduled_by_db = (
        select(attempt.id)
        .where(
            attempt.event_id == Event.id,
            attempt.attempt == Event.attempts,
            attempt.outcome == EventStatus.FAILED.value,
            Event.next_attempt_at - attempt.at > timedelta(seconds=RETRY_MESSAGE_MAX_S),
        )
        .exists()
    )
    stmt = (
        select(Event.id)
        .where(
            Event.status == EventStatus.FAILED.value,
            Event.next_attempt_at <= now,
            scheduled_by_db,
        )
        .order_by(Event.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))
