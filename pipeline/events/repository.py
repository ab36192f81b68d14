"""SQL for the events inbox. Functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, defer

from schema.events import TERMINAL_STATUSES, Event, EventStatus


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    status: str
    inserted: bool


def store(session: Session, rows: Sequence[dict[str, Any]]) -> list[StoredEvent]:
    """Insert each row once per (source, external_id); count the repeats as duplicates.

    Rows must already be unique per key; `duplicates` holds repeats seen in the batch.
    """
    if not rows:
        return []
    values = insert(Event).values(list(rows))
    stmt: Any = values.on_conflict_do_update(
        index_elements=[Event.source, Event.external_id],
        set_={"duplicates": Event.duplicates + values.excluded.duplicates + 1},
    ).returning(Event.id, Event.status, literal_column("(xmax = 0)").label("inserted"))
    return [StoredEvent(r.id, r.status, bool(r.inserted)) for r in session.execute(stmt)]


def lock_unfinished(session: Session, ids: Sequence[int]) -> list[Event]:
    """Lock the events that still need work; rows another worker holds are skipped."""
    stmt = (
        select(Event)
        .options(defer(Event.raw_body))  # handlers work on the parsed payload
        .where(Event.id.in_(ids), Event.status.not_in([s.value for s in TERMINAL_STATUSES]))
        .order_by(Event.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def due_for_retry(session: Session, now: datetime, grace: timedelta, limit: int) -> list[int]:
    """Failed events past their retry time (their retry message may be lost)."""
    stmt = (
        select(Event.id)
        .where(Event.status == EventStatus.FAILED.value, Event.next_attempt_at <= now - grace)
        .order_by(Event.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def stuck(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Events stored but never finished: their task was lost with a worker."""
    stmt = (
        select(Event.id)
        .where(
            Event.status.in_([EventStatus.RECEIVED.value, EventStatus.PROCESSING.value]),
            Event.stored_at <= older_than,
        )
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def reset_for_replay(session: Session, event_id: int) -> Event | None:
    event = session.get(Event, event_id, with_for_update=True)
    if event is None:
        return None
    session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(status=EventStatus.RECEIVED.value, next_attempt_at=None, processed_at=None)
    )
    return event


def now(session: Session) -> datetime:
    value: datetime = session.execute(select(func.now())).scalar_one()
    return value
