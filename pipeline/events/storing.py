"""Storing a batch of envelopes so that one bad row never costs its neighbours.

The batch goes in with one statement. If PostgreSQL refuses it for something other than
a transient failure, the batch is split in halves, down to single rows; a row that still
cannot be stored is kept anyway as a `dead` event with its raw body and the error, so an
operator sees it and can replay it once the cause is fixed. Transient failures (the
database is unreachable, a deadlock) are raised for the task to retry the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events import repository
from pipeline.events.errors import is_transient_db_error, one_line
from pipeline.redaction import STORED_ERROR_MAX_CHARS
from pipeline.storable import (
    EXTERNAL_ID_MAX,
    SOURCE_MAX,
    TYPE_MAX,
    bounded,
    storable_headers,
    valid_request_id,
)
from pipeline.unit_of_work import unit_of_work
from schema.events import Event, EventStatus
from schema.operations import EventAttempt

# What a refused statement can raise: the database's error, or the driver's own when a
# value cannot even be sent (an unencodable string, a type it cannot adapt).
NOT_STORED = (SQLAlchemyError, ValueError, TypeError)


def is_row_problem(exc: BaseException) -> bool:
    """A refused insert that a smaller batch may get past (not a transient failure)."""
    return isinstance(exc, NOT_STORED) and not is_transient_db_error(exc)


def event_row(envelope: Envelope, payload: Any, repeats: int) -> dict[str, Any]:
    """The insert values of one envelope, every bounded column within its bound (the
    receiver bounds them too; messages from older receivers or other producers may not)."""
    return {
        "source": bounded(envelope.provider, SOURCE_MAX),
        "type": bounded(envelope.event_type, TYPE_MAX),
        "external_id": bounded(envelope.external_id, EXTERNAL_ID_MAX),
        "status": EventStatus.RECEIVED.value,
        "attempts": 0,
        "duplicates": repeats,
        "payload": payload,
        "raw_body": envelope.body,
        "headers": storable_headers(envelope.headers),
        "request_id": valid_request_id(envelope.request_id),
        "received_at": envelope.received_at,
        "processed_at": None,
    }


def ignored_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`row` finished as it goes in: no handler takes its (source, type), so processing
    would only mark it ignored, a second row version (and index entries) per event."""
    return {**row, "status": EventStatus.IGNORED.value, "attempts": 1, "processed_at": now}


def _dead_row(row: dict[str, Any], error: str) -> dict[str, Any]:
    """The least that can be stored: keys, raw body (bytea takes any bytes), the error
    (masked and cut already).
    The storable rules are applied again: the row may not have come through event_row."""
    return {
        **row,
        "source": bounded(str(row["source"]), SOURCE_MAX),
        "type": bounded(str(row["type"]), TYPE_MAX),
        "external_id": bounded(str(row["external_id"]), EXTERNAL_ID_MAX),
        "request_id": valid_request_id(row.get("request_id")),
        "payload": None,
        "headers": {},
        "status": EventStatus.DEAD.value,
        "attempts": 0,  # a row meant to go in ignored never was
        "processed_at": None,
        "last_error": error,
    }


class BatchStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        deps: Deps,
        on_dead: Callable[[Session, Event], None] | None = None,
        recheck: Collection[str] = (),
    ) -> None:
        self.sessions = sessions
        self.deps = deps  # the process's, from whoever builds the store (the event service)
        self.on_dead = on_dead
        self.recheck = recheck

    def store(self, rows: Sequence[dict[str, Any]]) -> list[repository.StoredEvent]:
        """Insert and commit `rows`, splitting the batch around rows PostgreSQL refuses."""
        if not rows:
            return []
        try:
            with unit_of_work(self.sessions, self.deps) as uow:
                return repository.store(uow.session, rows, self.recheck)
        except NOT_STORED as exc:
            if not is_row_problem(exc):
                raise
            if len(rows) == 1:
                return [self._store_dead(rows[0], exc)]
            half = len(rows) // 2
            return self.store(rows[:half]) + self.store(rows[half:])

    def _store_dead(self, row: dict[str, Any], exc: BaseException) -> repository.StoredEvent:
        error = self.deps.redactor.stored_error(
            f"not storable: {one_line(exc, STORED_ERROR_MAX_CHARS)}"
        )
        logger.bind(provider=row["source"]).error(
            "event {} stored as dead: {}", row["external_id"], error
        )
        with unit_of_work(self.sessions, self.deps) as uow:
            session = uow.session
            [stored] = repository.store(session, [_dead_row(row, error)])
            if stored.inserted:
                session.add(
                    EventAttempt(event_id=stored.id, attempt=0, outcome="dead", error=error)
                )
                event = session.get(Event, stored.id)
                if event is not None and self.on_dead is not None:
                    self.on_dead(session, event)
        return stored


def restore_payloads(
    session: Session, events: Sequence[Event], parse: Callable[[Event, bytes], Any]
) -> None:
    """Events stored without a payload (it could not be parsed or stored): parse the raw
    body again, so a replay after a fix gets a payload. Each write in a savepoint: a
    payload PostgreSQL still refuses leaves the event as it was."""
    missing = {e.id: e for e in events if e.payload is None}
    if not missing:
        return
    for event_id, body in repository.raw_bodies(session, list(missing)).items():
        event = missing[event_id]
        payload = parse(event, body)
        if payload is None:
            continue
        try:
            with session.begin_nested():
                repository.set_payload(session, event_id, payload)
        except NOT_STORED as exc:
            if not is_row_problem(exc):
                raise
            logger.bind(event_id=event_id).warning("payload still not storable: {}", exc)
            continue
        event.payload = payload
