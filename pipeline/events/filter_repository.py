"""SQL for reading the events inbox as operators do: the filter's conditions (shared with
the bulk retry of pipeline.events.repository), filtered keyset pages and one event in
full. Functions take a session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, defer

from pipeline.like import ESCAPE, containing
from schema.events import Event, EventSearchText
from schema.operations import EventAttempt


@dataclass(frozen=True)
class EventFilter:
    source: str | None = None
    type: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    external_id: str | None = None
    text: str | None = None  # a substring of the payload's JSON


def payload_contains(*needles: str) -> ColumnElement[bool]:
    """Events whose payload's JSON text contains any of `needles` (case-insensitive),
    looked up in the trigram-indexed copy of the texts (schema.events.EventSearchText)."""
    body = EventSearchText.body
    matching = select(EventSearchText.event_id).where(
        or_(*(body.ilike(containing(n), escape=ESCAPE) for n in needles))
    )
    return Event.id.in_(matching)


def conditions(f: EventFilter) -> list[Any]:
    where: list[Any] = []
    for column, value in (
        (Event.source, f.source),
        (Event.type, f.type),
        (Event.status, f.status),
        (Event.external_id, f.external_id),
    ):
        if value is not None:
            where.append(column == value)
    if f.since is not None:
        where.append(Event.received_at >= f.since)
    if f.until is not None:
        where.append(Event.received_at < f.until)
    if f.text:
        where.append(payload_contains(f.text))
    return where


# A time window up to this wide is read through the received_at index and sorted.
NARROW_WINDOW = timedelta(days=1)


def _order(f: EventFilter) -> Any:
    """Newest first by id. For a narrow time window the planner would otherwise walk the
    primary key backwards from the newest row, filtering on received_at, all the way
    down to the window (seconds over millions of rows); `id + 0` cannot use that index,
    so it reads the window by received_at and sorts those few rows instead."""
    if f.since is not None:
        until = f.until or datetime.now(UTC)
        if until - f.since <= NARROW_WINDOW:
            return (Event.id + 0).desc()
    return Event.id.desc()


def page(
    session: Session, f: EventFilter, *, before_id: int | None, limit: int
) -> tuple[list[Event], int | None]:
    """Newest first; the next page starts below the last id (keyset: no OFFSET scans)."""
    stmt = (
        select(Event)
        .options(defer(Event.raw_body), defer(Event.payload), defer(Event.headers))
        .where(*conditions(f))
        .order_by(_order(f))
        .limit(limit + 1)
    )
    if before_id is not None:
        stmt = stmt.where(Event.id < before_id)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def detail(session: Session, event_id: int) -> tuple[Event, list[EventAttempt]] | None:
    event = session.get(Event, event_id, options=[defer(Event.raw_body)])
    if event is None:
        return None
    attempts = session.scalars(
        select(EventAttempt).where(EventAttempt.event_id == event_id).order_by(EventAttempt.id)
    )
    return event, list(attempts)
