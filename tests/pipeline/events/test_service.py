"""Storing and processing events against a real PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, HandlerRegistry, load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event, EventStatus
from tests.support.signing import stripe_event, telegram_update


def envelope(provider: str, external_id: str, body: bytes, event_type: str) -> Envelope:
    return Envelope(provider, external_id, event_type, body, datetime.now(UTC), {}, "req-1")


def stripe_envelope(event_id: str, event_type: str = "payment_intent.succeeded") -> Envelope:
    return envelope("stripe", event_id, stripe_event(event_id, event_type), event_type)


@pytest.fixture
def service(db: sessionmaker[Session]) -> EventService:
    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=Deps.build(),
    )


def events(db: sessionmaker[Session]) -> list[Event]:
    with db() as session:
        return list(session.scalars(select(Event).order_by(Event.id)))


def test_store_then_process(service: EventService, db: sessionmaker[Session]) -> None:
    stored = service.store(
        [stripe_envelope("evt_1"), envelope("telegram", "7", telegram_update(7), "message")]
    )
    assert stored.stored == 2 and stored.duplicates == 0
    result = service.process(stored.to_process)
    assert len(result.processed) == 2
    rows = events(db)
    assert [r.status for r in rows] == ["processed", "processed"]
    assert rows[0].payload is not None and rows[0].payload["id"] == "evt_1"
    assert rows[0].raw_body == stripe_event("evt_1") or rows[0].raw_body is not None
    assert all(r.attempts == 1 and r.processed_at is not None for r in rows)


def test_duplicates_in_and_across_batches_are_counted_not_reprocessed(
    service: EventService, db: sessionmaker[Session]
) -> None:
    first = service.store([stripe_envelope("evt_d"), stripe_envelope("evt_d")])
    assert (first.stored, first.duplicates) == (1, 1)
    service.process(first.to_process)
    again = service.store([stripe_envelope("evt_d")])
    assert (again.stored, again.duplicates, again.to_process) == (0, 1, [])
    (row,) = events(db)
    assert (row.status, row.attempts, row.duplicates) == ("processed", 1, 2)


def test_concurrent_deliveries_process_once(
    service: EventService, db: sessionmaker[Session]
) -> None:
    def deliver(_: int) -> int:
        stored = service.store([stripe_envelope("evt_race")])
        return len(service.process(stored.to_process).processed)

    with ThreadPoolExecutor(5) as pool:
        processed = sum(pool.map(deliver, range(5)))
    (row,) = events(db)
    assert processed == 1
    assert (row.status, row.attempts, row.duplicates) == ("processed", 1, 4)


def test_unhandled_type_is_ignored(service: EventService, db: sessionmaker[Session]) -> None:
    stored = service.store([stripe_envelope("evt_i", "customer.created")])
    result = service.process(stored.to_process)
    assert result.ignored == stored.to_process
    assert events(db)[0].status == EventStatus.IGNORED


def test_transient_failures_back_off_then_go_dead(
    db: sessionmaker[Session],
) -> None:
    calls: list[int] = []
    registry = HandlerRegistry()

    @registry.handles("stripe", "payment_intent.succeeded")
    def flaky(ctx: HandlerContext) -> None:
        calls.append(ctx.event.attempts)
        raise TimeoutError("provider timed out")

    dead: list[int] = []
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(3, 1.0, 4.0),
        on_dead=lambda session, event: dead.append(event.id),
        deps=Deps.build(),
    )
    stored = service.store([stripe_envelope("evt_f")])
    first = service.process(stored.to_process)
    assert len(first.retry) == 1 and 0 <= first.retry[0][1] <= 1.0
    row = events(db)[0]
    assert row.status == "failed" and row.next_attempt_at is not None
    assert "TimeoutError: provider timed out" in (row.last_error or "")
    second = service.process(stored.to_process)
    assert 0 <= second.retry[0][1] <= 2.0  # the ceiling doubles: full jitter within it
    third = service.process(stored.to_process)
    assert third.dead == stored.to_process == dead
    row = events(db)[0]
    assert (row.status, row.attempts) == ("dead", 3)
    assert "retries exhausted after 3 attempts" in (row.last_error or "")
    assert calls == [1, 2, 3]
    assert service.process(stored.to_process).processed == []  # dead stays dead


def test_permanent_error_goes_dead_at_once_and_rolls_back_handler_writes(
    db: sessionmaker[Session],
) -> None:
    registry = HandlerRegistry()

    @registry.handles("stripe")
    def broken(ctx: HandlerContext) -> None:
        ctx.event.type = "changed-by-handler"
        raise PermanentError("amount is not an integer")

    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(),
        deps=Deps.build(),
    )
    stored = service.store([stripe_envelope("evt_p")])
    assert service.process(stored.to_process).dead == stored.to_process
    row = events(db)[0]
    assert row.status == "dead" and row.type == "payment_intent.succeeded"
    assert row.last_error == "permanent: amount is not an integer"


def test_one_failing_event_does_not_affect_its_batch(db: sessionmaker[Session]) -> None:
    registry = HandlerRegistry()

    @registry.handles("stripe")
    def picky(ctx: HandlerContext) -> None:
        if ctx.event.external_id == "evt_bad":
            raise RuntimeError("boom")

    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(),
        deps=Deps.build(),
    )
    stored = service.store(
        [stripe_envelope("evt_ok1"), stripe_envelope("evt_bad"), stripe_envelope("evt_ok2")]
    )
    result = service.process(stored.to_process)
    assert len(result.processed) == 2 and len(result.retry) == 1
    statuses = {r.external_id: r.status for r in events(db)}
    assert statuses == {"evt_ok1": "processed", "evt_bad": "failed", "evt_ok2": "processed"}


def job_recording_service(
    db: sessionmaker[Session], ran: list[tuple[str, str]], failing: str
) -> EventService:
    """Each handler registers a job that records its event and the status committed for
    it by the time the job runs; the `failing` event's handler then raises."""
    registry = HandlerRegistry()

    @registry.handles("stripe")
    def with_job(ctx: HandlerContext) -> None:
        external_id = ctx.event.external_id

        def job() -> None:
            (status,) = [e.status for e in events(db) if e.external_id == external_id]
            ran.append((external_id, status))

        ctx.after_commit(job)
        if external_id == failing:
            raise RuntimeError("no")

    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(),
        deps=Deps.build(),
    )


@pytest.mark.parametrize("path", ["process", "ingest"])
def test_a_rolled_back_handler_loses_its_job_and_a_redone_batch_runs_each_job_once(
    db: sessionmaker[Session], path: str
) -> None:
    ran: list[tuple[str, str]] = []
    service = job_recording_service(db, ran, failing="evt_b")
    # evt_a's handler runs (and registers its job) in the batch's first pass too, before
    # evt_b fails it; that pass is rolled back and only the isolated redo's jobs run.
    batch = [stripe_envelope("evt_a"), stripe_envelope("evt_b"), stripe_envelope("evt_c")]
    if path == "process":
        result = service.process(service.store(batch).to_process)
    else:
        _, result = service.ingest(batch)
    assert len(result.processed) == 2 and len(result.retry) == 1
    assert sorted(ran) == [("evt_a", "processed"), ("evt_c", "processed")]


def test_a_lone_event_whose_savepoint_rolled_back_runs_no_job(db: sessionmaker[Session]) -> None:
    ran: list[tuple[str, str]] = []
    service = job_recording_service(db, ran, failing="evt_b")
    stored = service.store([stripe_envelope("evt_b")])
    assert len(service.process(stored.to_process).retry) == 1
    assert ran == []
    assert [e.status for e in events(db)] == ["failed"]


def test_malformed_telegram_update_goes_dead(
    service: EventService, db: sessionmaker[Session]
) -> None:
    body = b'{"update_id": 3, "message": {"text": "no chat or date"}}'
    stored = service.store([envelope("telegram", "3", body, "message")])
    assert service.process(stored.to_process).dead == stored.to_process
    assert "not a valid Telegram update" in (events(db)[0].last_error or "")


def test_replay_reprocesses(service: EventService, db: sessionmaker[Session]) -> None:
    stored = service.store([stripe_envelope("evt_r")])
    service.process(stored.to_process)
    assert service.replay(stored.to_process[0])
    assert service.process(stored.to_process).processed == stored.to_process
    # A replay starts a fresh retry budget; the history keeps earlier failures.
    assert events(db)[0].attempts == 1
    assert not service.replay(999_999)


def test_ingest_stores_and_processes_in_one_go(
    service: EventService, db: sessionmaker[Session]
) -> None:
    stored, result = service.ingest(
        [stripe_envelope("evt_g1"), stripe_envelope("evt_g1"), stripe_envelope("evt_g2")]
    )
    assert (stored.stored, stored.duplicates, len(result.processed)) == (2, 1, 2)
    again, second = service.ingest([stripe_envelope("evt_g2")])
    assert (again.stored, again.duplicates, second.processed) == (0, 1, [])
    assert [(r.status, r.attempts) for r in events(db)] == [("processed", 1), ("processed", 1)]


def test_ingest_with_a_failing_handler_keeps_every_event(db: sessionmaker[Session]) -> None:
    registry = HandlerRegistry()

    @registry.handles("stripe")
    def picky(ctx: HandlerContext) -> None:
        if ctx.event.external_id == "evt_h_bad":
            raise RuntimeError("boom")

    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(),
        deps=Deps.build(),
    )
    stored, result = service.ingest([stripe_envelope("evt_h_ok"), stripe_envelope("evt_h_bad")])
    assert stored.stored == 2 and len(result.processed) == 1 and len(result.retry) == 1
    assert sorted(r.status for r in events(db)) == ["failed", "processed"]
