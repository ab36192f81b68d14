"""A row PostgreSQL refuses never costs its neighbours: the batch is split down to that
row, which is kept `dead` with its raw body and the error, and replays after a fix.

The poison is real: a trigger refusing one payload stands for any constraint the
code did not foresee; rows built without the storable rules (as an older producer
might send them) are refused by PostgreSQL itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.events.storing import BatchStore
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event
from schema.operations import EventAttempt
from tests.support.row_updates import row_updates
from tests.support.signing import stripe_event

POISON = """
CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.payload ? 'poison' THEN RAISE EXCEPTION 'poisonous payload' USING ERRCODE = '22000';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION refuse_poison();
"""
CURE = "DROP TRIGGER refuse_poison ON events; DROP FUNCTION refuse_poison();"


@pytest.fixture
def poisoned(engine: Engine, db: sessionmaker[Session]) -> Iterator[Engine]:
    with engine.begin() as conn:
        conn.execute(text(POISON))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER IF EXISTS refuse_poison ON events"))
        conn.execute(text("DROP FUNCTION IF EXISTS refuse_poison()"))


@pytest.fixture
def service(db: sessionmaker[Session]) -> EventService:
    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=Deps.build(),
    )


def envelope(event_id: str, request_id: str = "req-1", **extra: Any) -> Envelope:
    body = stripe_event(event_id, **extra)
    now = datetime.now(UTC)
    return Envelope("stripe", event_id, "payment_intent.succeeded", body, now, {}, request_id)


def by_id(db: sessionmaker[Session]) -> dict[str, Event]:
    with db() as session:
        return {e.external_id: e for e in session.scalars(select(Event))}


def test_poisonous_row_is_dead_with_its_body_and_replays_after_the_fix(
    poisoned: Engine, service: EventService, db: sessionmaker[Session]
) -> None:
    good = [envelope(f"evt_{n}") for n in range(9)]
    poison = envelope("evt_poison", poison=True)
    nul = envelope("evt_nul", description="\u0000")
    long_request = envelope("evt_rid", request_id="r" * 200)
    batch = [*good[:4], poison, nul, long_request, *good[4:]]

    stored, result = service.ingest(batch)

    assert stored.stored == len(batch)
    rows = by_id(db)
    assert {rows[e.external_id].status for e in [*good, nul, long_request]} == {"processed"}
    assert len(result.processed) == len(batch) - 1
    dead = rows["evt_poison"]
    assert dead.status == "dead" and dead.payload is None
    assert dead.raw_body == poison.body
    assert dead.last_error is not None and "poisonous payload" in dead.last_error
    assert rows["evt_rid"].request_id is None  # not a valid request id: not kept
    with db() as session:
        history = session.scalars(select(EventAttempt).where(EventAttempt.event_id == dead.id))
        assert [a.outcome for a in history] == ["dead"]

    with poisoned.begin() as conn:
        conn.execute(text(CURE))
    assert service.replay(dead.id)
    replayed = service.process([dead.id])
    assert replayed.processed == [dead.id]
    after = by_id(db)["evt_poison"]
    assert after.status == "processed" and after.payload is not None
    assert after.payload["poison"] is True


def test_rows_that_skipped_the_storable_rules_are_split_off(db: sessionmaker[Session]) -> None:
    """The fallback on its own: rows PostgreSQL refuses (NUL in jsonb, a lone surrogate,
    a request id over its column) among good ones."""
    now = datetime.now(UTC)

    def row(key: str, payload: object, request_id: str | None = None) -> dict[str, object]:
        return {
            "source": "stripe",
            "type": "t",
            "external_id": key,
            "status": "received",
            "attempts": 0,
            "duplicates": 0,
            "payload": payload,
            "raw_body": f"body of {key}".encode(),
            "headers": {},
            "request_id": request_id,
            "received_at": now,
        }

    bad = {
        "nul": row("nul", {"a": "x\u0000"}),
        "surrogate": row("surrogate", {"a": "\ud800"}),
        "request_id": row("request_id", {}, "r" * 65),
    }
    good = [row(f"good_{n}", {"n": n}) for n in range(13)]
    rows = [*good[:5], *bad.values(), *good[5:]]

    stored = BatchStore(db, Deps.build()).store(rows)

    assert len(stored) == len(rows)
    events = by_id(db)
    assert {events[f"good_{n}"].status for n in range(13)} == {"received"}
    for key in bad:
        assert events[key].status == "dead", key
        assert events[key].raw_body == f"body of {key}".encode()
        assert (events[key].last_error or "").startswith("not storable: ")


def test_a_refused_row_among_ignored_ones_is_dead_and_its_neighbours_go_in_ignored(
    poisoned: Engine, service: EventService, db: sessionmaker[Session]
) -> None:
    """The ingest's fallback stores rows meant to go in `ignored` (no handler for
    customer.created) as they are, but for a refused one: dead, never attempted."""

    def unhandled(event_id: str, **extra: Any) -> Envelope:
        body = stripe_event(event_id, "customer.created", **extra)
        return Envelope("stripe", event_id, "customer.created", body, datetime.now(UTC), {}, "r")

    batch = [envelope("evt_ok"), unhandled("evt_ign"), unhandled("evt_ign_poison", poison=True)]
    with row_updates(poisoned) as updates:
        stored, result = service.ingest(batch)
        assert updates.take() == [("evt_ok", "received", "processed")]
    rows = by_id(db)
    assert stored.stored == 3
    assert (result.processed, result.ignored) == ([rows["evt_ok"].id], [rows["evt_ign"].id])
    ignored, dead = rows["evt_ign"], rows["evt_ign_poison"]
    assert (ignored.status, ignored.attempts) == ("ignored", 1)
    assert ignored.processed_at is not None
    assert (dead.status, dead.attempts, dead.processed_at) == ("dead", 0, None)
    assert (dead.last_error or "").startswith("not storable: ")
