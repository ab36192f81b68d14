"""SQL for the events inbox. Functions take a session and never commit."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, and_, case, column, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, defer

from pipeline.events.filter_repository import EventFilter, conditions
from schema.events import TERMINAL_STATUSES, Event, EventStatus
from schema.operations import EventAttempt
from schema.unnest import column_arrays, unnest_insert, unnest_update


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    status: str
    inserted: bool
    source: str
    received_at: datetime


# One statement text for any batch (schema.unnest): a VALUES list is compiled again for
# every row count, which cost more than PostgreSQL's own work for a batch of a hundred.
_COLUMNS = {
    "source": "varchar",
    "type": "varchar",
    "external_id": "varchar",
    "status": "varchar",
    "attempts": "integer",
    "duplicates": "integer",
    "payload": "jsonb",
    "raw_body": "bytea",
    "headers": "jsonb",
    "request_id": "varchar",
    "received_at": "timestamptz",
    # Set for a row that goes in finished (ignored: no handler), None for the others;
    # stored as the transaction's time, like stored_at, so it is never before it.
    "processed_at": "timestamptz",
}
_COMPUTED = {"processed_at": "CASE WHEN v.processed_at IS NULL THEN NULL ELSE now() END"}
_JSON_COLUMNS = ("payload", "headers")
_TERMINAL = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATUSES))
_AGAIN = f"events.source = ANY(CAST(:recheck AS varchar[])) AND events.status IN ({_TERMINAL})"
_UPSERT = (
    "ON CONFLICT (source, external_id) DO UPDATE SET "
    "duplicates = events.duplicates + EXCLUDED.duplicates + 1, "
    f"status = CASE WHEN {_AGAIN} THEN '{EventStatus.RECEIVED.value}' ELSE events.status END, "
    f"attempts = CASE WHEN {_AGAIN} THEN 0 ELSE events.attempts END, "
    f"processed_at = CASE WHEN {_AGAIN} THEN NULL ELSE events.processed_at END "
)
_INSERTED = "(xmax = 0) AS inserted"
_STORE = unnest_insert(
    "events",
    _COLUMNS,
    f"{_UPSERT} RETURNING id, status, source, received_at, {_INSERTED}",
    _COMPUTED,
)
# Every column but the raw body: the rows come back as the events to process.
_LOCKED_COLUMNS = [c for c in Event.__table__.columns if c.name != "raw_body"]
_STORE_LOCKED = unnest_insert(
    "events",
    _COLUMNS,
    f"{_UPSERT} RETURNING {', '.join(c.name for c in _LOCKED_COLUMNS)}, {_INSERTED}",
    _COMPUTED,
).columns(*_LOCKED_COLUMNS, column("inserted", Boolean))


def _store_params(rows: Sequence[dict[str, Any]], recheck: Collection[str]) -> dict[str, Any]:
    params = column_arrays(rows, _COLUMNS)
    for name in _JSON_COLUMNS:
        params[name] = [None if v is None else json.dumps(v) for v in params[name]]
    params["recheck"] = sorted(recheck)
    return params


def store(
    session: Session, rows: Sequence[dict[str, Any]], recheck: Collection[str] = ()
) -> list[StoredEvent]:
    """Insert each row once per (source, external_id); count the repeats as duplicates.

    Rows must already be unique per key; `duplicates` holds repeats seen in the batch.
    A repeat of a finished event from a `recheck` source (a provider whose worker
    re-fetches the object) puts it back to `received`: the key says only where to look,
    so an early forged delivery must not turn the real one into an unprocessed duplicate.
    A row may go in finished (`ignored`: no handler for its type); a repeat still leaves
    the existing row's status as it was, since the upsert never reads the new row's.
    """
    if not rows:
        return []
    if any(row.keys() - _COLUMNS.keys() for row in rows):
        return _store_values(session, rows, recheck)  # a dead row carries its error
    found = session.execute(_STORE, _store_params(rows, recheck))
    return [_stored(r) for r in found]


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(row.id, row.status, bool(row.inserted), row.source, row.received_at)


def store_locked(
    session: Session, rows: Sequence[dict[str, Any]], recheck: Collection[str] = ()
) -> tuple[list[StoredEvent], list[Event]]:
    """`store`, and the unfinished events among the rows as objects, in id order.

    Every row the statement returns is locked by this transaction (inserted by it, or
    updated by its ON CONFLICT), so the batch needs no second statement to lock and
    read them (`lock_unfinished`); the raw bodies are not read back.
    """
    if not rows:
        return [], []
    stmt = select(Event, column("inserted", Boolean)).from_statement(_STORE_LOCKED)
    found: list[tuple[Event, bool]] = [
        (event, bool(inserted))
        for event, inserted in session.execute(stmt, _store_params(rows, recheck))
        if isinstance(event, Event)
    ]
    stored = [
        StoredEvent(e.id, e.status, inserted, e.source, e.received_at) for e, inserted in found
    ]
    unfinished = sorted(
        (e for e, _ in found if e.status not in TERMINAL_STATUSES), key=lambda e: e.id
    )
    return stored, unfinished


def _store_values(
    session: Session, rows: Sequence[dict[str, Any]], recheck: Collection[str]
) -> list[StoredEvent]:
    values = insert(Event).values(list(rows))
    again = and_(
        Event.source.in_(list(recheck)),
        Event.status.in_([s.value for s in TERMINAL_STATUSES]),
    )
    stmt: Any = values.on_conflict_do_update(
        index_elements=[Event.source, Event.external_id],
        set_={
            "duplicates": Event.duplicates + values.excluded.duplicates + 1,
            "status": case((again, EventStatus.RECEIVED.value), else_=Event.status),
            "attempts": case((again, 0), else_=Event.attempts),
            "processed_at": case((again, None), else_=Event.processed_at),
        },
    ).returning(
        Event.id,
        Event.status,
        Event.source,
        Event.received_at,
        literal_column("(xmax = 0)").label("inserted"),
    )
    return [_stored(r) for r in session.execute(stmt)]


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


def raw_bodies(session: Session, ids: Sequence[int]) -> dict[int, bytes]:
    stmt = select(Event.id, Event.raw_body).where(Event.id.in_(ids), Event.raw_body.is_not(None))
    return {row.id: bytes(row.raw_body) for row in session.execute(stmt)}


def set_payload(session: Session, event_id: int, payload: Any) -> None:
    session.execute(update(Event).where(Event.id == event_id).values(payload=payload))


_OUTCOME_COLUMNS = {
    "id": "bigint",
    "status": "varchar",
    "attempts": "integer",
    "processed_at": "timestamptz",
    "next_attempt_at": "timestamptz",
    "last_error": "text",
}
_WRITE_OUTCOMES = unnest_update("events", "id", _OUTCOME_COLUMNS)


def write_outcomes(session: Session, events: Sequence[Event]) -> None:
    """Persist the processing outcome of detached, locked events in one statement."""
    if not events:
        return
    rows = [{name: getattr(event, name) for name in _OUTCOME_COLUMNS} for event in events]
    session.execute(_WRITE_OUTCOMES, column_arrays(rows, _OUTCOME_COLUMNS))


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
    """Events stored but never finished: their task was lost, or their worker died
    mid-handler (which rolls the event back to `received`)."""
    stmt = (
        select(Event.id)
        .where(Event.status == EventStatus.RECEIVED.value, Event.stored_at <= older_than)
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def reset_for_replay(session: Session, event_id: int) -> Event | None:
    """Back to `received` with a fresh attempt budget. The last error stays until the
    event succeeds, and the history of attempts stays (with a `replayed` mark)."""
    event = session.get(Event, event_id, with_for_update=True)
    if event is None:
        return None
    if event.status in (EventStatus.DEAD.value, EventStatus.FAILED.value):
        session.add(
            EventAttempt(
                event_id=event_id,
                attempt=event.attempts,
                outcome="replayed",
                error=f"replayed from {event.status}",
            )
        )
    session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(
            status=EventStatus.RECEIVED.value, next_attempt_at=None, processed_at=None, attempts=0
        )
    )
    return event


def reset_many(session: Session, ids: Sequence[int], statuses: Sequence[str]) -> list[int]:
    """`reset_for_replay` for a batch, in two statements; only rows still in `statuses`."""
    if not ids:
        return []
    session.execute(
        insert(EventAttempt).from_select(
            ["event_id", "attempt", "outcome", "error"],
            select(
                Event.id, Event.attempts, literal_column("'replayed'"),
                literal_column("'replayed from ' || status"),
            ).where(Event.id.in_(ids), Event.status.in_(statuses)),
        )
    )  # fmt: skip
    stmt = (
        update(Event)
        .where(Event.id.in_(ids), Event.status.in_(statuses))
        .values(
            status=EventStatus.RECEIVED.value, next_attempt_at=None, processed_at=None, attempts=0
        )
        .returning(Event.id)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Selection:
    statuses: tuple[str, ...]
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # The console's bulk retry narrows by the rest of its list filter too.
    type: str | None = None
    external_id: str | None = None
    text: str | None = None


def _selected(selection: Selection) -> list[Any]:
    narrowed = EventFilter(
        source=selection.source or None,
        type=selection.type,
        since=selection.since,
        until=selection.until,
        external_id=selection.external_id,
        text=selection.text,
    )
    return [Event.status.in_(selection.statuses), *conditions(narrowed)]


def count_selected(session: Session, selection: Selection) -> int:
    stmt = select(func.count()).select_from(Event).where(*_selected(selection))
    return int(session.execute(stmt).scalar_one())


def select_ids(session: Session, selection: Selection, after_id: int, limit: int) -> list[int]:
    stmt = (
        select(Event.id)
        .where(*_selected(selection), Event.id > after_id)
        .order_by(Event.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Event.status, func.count()).group_by(Event.status))
    return {status: int(count) for status, count in rows}


def dead_sources(session: Session) -> set[str]:
    stmt = select(Event.source).where(Event.status == EventStatus.DEAD.value).distinct()
    return set(session.scalars(stmt))


def attempts_of(session: Session, event_id: int) -> list[EventAttempt]:
    stmt = select(EventAttempt).where(EventAttempt.event_id == event_id).order_by(EventAttempt.id)
    return list(session.scalars(stmt))


def now(session: Session) -> datetime:
    value: datetime = session.execute(select(func.now())).scalar_one()
    return value
