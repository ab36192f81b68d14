"""The ingest inserts an event no handler takes as `ignored` (attempts 1, processed_at
the batch's time): one row version, where processing it would update it. It is still
reported (summary, metrics) as processing reported it; a repeat counts only as a
duplicate, but for the recheck rule of refetching sources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import HandlerContext, HandlerRegistry
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event
from tests.pipeline.events.test_service import envelope, events, stripe_envelope
from tests.support.row_updates import RowUpdates, row_updates

UNHANDLED = "customer.created"


@pytest.fixture
def updates(engine: Engine, db: sessionmaker[Session]) -> Iterator[RowUpdates]:
    with row_updates(engine) as log:
        yield log


def service_for(db: sessionmaker[Session], failing: str = "") -> EventService:
    """Stripe's payment_intent.succeeded is handled (the `failing` event's handler
    raises); nothing else is."""
    registry = HandlerRegistry()

    @registry.handles("stripe", "payment_intent.succeeded")
    def handle(ctx: HandlerContext) -> None:
        if ctx.event.external_id == failing:
            raise RuntimeError("boom")

    providers = build_registry(get_settings(), with_plugins=False)
    return EventService(db, providers, registry, RetryPolicy(3, 0.01, 0.05), deps=Deps.build())


def by_key(db: sessionmaker[Session]) -> dict[str, Event]:
    return {e.external_id: e for e in events(db)}


def counted(source: str, status: str) -> float:
    """`pipeline_events_total` of this process (what `_observe` counts)."""
    labels = {"source": source, "status": status}
    return REGISTRY.get_sample_value("pipeline_events_total", labels) or 0.0


def test_an_unhandled_event_goes_in_ignored_in_one_row_version(
    db: sessionmaker[Session], updates: RowUpdates
) -> None:
    service = service_for(db)
    before = counted("stripe", "ignored")
    stored, result = service.ingest([stripe_envelope("evt_i", UNHANDLED)])
    assert updates.take() == []  # inserted final, never updated
    (row,) = events(db)
    assert (stored.stored, stored.duplicates, stored.to_process) == (1, 0, [])
    assert (result.ignored, result.processed, result.skipped) == ([row.id], [], 0)
    assert [(source, status) for source, status, _ in result.finished] == [("stripe", "ignored")]
    assert counted("stripe", "ignored") - before == 1
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        "ignored", 1, None, None,
    )  # fmt: skip
    # Finished as it was stored: the transaction's time for both, never before it.
    assert row.processed_at is not None and row.processed_at == row.stored_at
    assert row.updated_seq is None  # cleared by the insert: left for the announcer


def test_an_unhandled_event_whose_payload_cannot_be_parsed_is_still_ignored(
    db: sessionmaker[Session], updates: RowUpdates
) -> None:
    service = service_for(db)
    _, result = service.ingest([envelope("stripe", "evt_u", b"not json", UNHANDLED)])
    assert updates.take() == []
    (row,) = events(db)
    assert (row.status, row.attempts, row.payload, result.ignored) == ("ignored", 1, None, [row.id])


def test_a_repeat_of_an_ignored_event_only_counts_as_a_duplicate(
    db: sessionmaker[Session], updates: RowUpdates
) -> None:
    service = service_for(db)
    before = counted("stripe", "ignored")
    service.ingest([stripe_envelope("evt_r", UNHANDLED)])
    assert updates.take() == []
    (first,) = events(db)
    again, result = service.ingest([stripe_envelope("evt_r", UNHANDLED)])
    assert (again.stored, again.duplicates, again.to_process) == (0, 1, [])
    assert (result.ignored, result.finished) == ([], [])
    assert updates.take() == [("evt_r", "ignored", "ignored")]  # the upsert's duplicate count
    (row,) = events(db)
    assert (row.status, row.attempts, row.duplicates) == ("ignored", 1, 1)
    assert row.processed_at == first.processed_at
    assert counted("stripe", "ignored") - before == 1


def test_a_repeat_from_a_refetching_source_is_rechecked_and_ignored_again(
    db: sessionmaker[Session], updates: RowUpdates
) -> None:
    service = service_for(db)
    assert "yookassa" in service.recheck
    body = b'{"event": "payment.unknown", "object": {"id": "yk_1"}}'

    def delivery() -> Envelope:
        return Envelope("yookassa", "yk_1", "payment.unknown", body, datetime.now(UTC), {}, "r")

    _, first = service.ingest([delivery()])
    assert updates.take() == []
    (inserted,) = events(db)
    assert (inserted.status, inserted.attempts, first.ignored) == ("ignored", 1, [inserted.id])
    again, second = service.ingest([delivery()])
    assert (again.stored, again.duplicates, again.to_process) == (0, 1, [inserted.id])
    assert second.ignored == [inserted.id]
    assert [status for _, status, _ in second.finished] == ["ignored"]
    # Back to `received` by the upsert, then processed (no handler: ignored) as before.
    assert updates.take() == [("yk_1", "ignored", "received"), ("yk_1", "received", "ignored")]
    (row,) = events(db)
    assert (row.status, row.attempts, row.duplicates) == ("ignored", 1, 1)
    assert row.processed_at is not None and inserted.processed_at is not None
    assert row.processed_at > inserted.processed_at


def test_a_mixed_batch_through_the_ingest_task(
    db: sessionmaker[Session], updates: RowUpdates, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.celery_app import app
    from workers.tasks import ingest as ingest_task

    service = service_for(db)
    monkeypatch.setattr(ingest_task, "runtime", lambda: SimpleNamespace(events=service))
    monkeypatch.setattr(ingest_task, "announce_event_changes", lambda: None)
    service.ingest([stripe_envelope("evt_old", UNHANDLED)])
    service.store([stripe_envelope("evt_pending")])  # received, not processed yet
    old = by_key(db)["evt_old"]
    before = counted("stripe", "ignored")
    batch = [
        stripe_envelope("evt_new"),
        stripe_envelope("evt_new_i", UNHANDLED),
        stripe_envelope("evt_new_i", UNHANDLED),
        stripe_envelope("evt_old", UNHANDLED),
        # Unhandled as delivered now, but the stored row is a received, handled event:
        # it stays what it is and is processed.
        stripe_envelope("evt_pending", UNHANDLED),
    ]
    try:
        summary = ingest_task.ingest([e.to_message() for e in batch])
    finally:
        app.reset_runtime()  # the task read this test's settings into the app
    assert summary == {
        "received": 5, "stored": 2, "duplicates": 3,
        "processed": 2, "ignored": 1, "failed": 0, "dead": 0,
    }  # fmt: skip
    assert counted("stripe", "ignored") - before == 1
    assert updates.take() == [
        ("evt_old", "ignored", "ignored"),  # upserts (duplicates), in key order
        ("evt_pending", "received", "received"),
        ("evt_new", "received", "processed"),  # outcomes, in id order
        ("evt_pending", "received", "processed"),
    ]
    rows = by_key(db)
    summary_of_rows = {k: (r.status, r.attempts, r.duplicates, r.type) for k, r in rows.items()}
    assert summary_of_rows == {
        "evt_old": ("ignored", 1, 1, UNHANDLED),
        "evt_pending": ("processed", 1, 1, "payment_intent.succeeded"),
        "evt_new": ("processed", 1, 0, "payment_intent.succeeded"),
        "evt_new_i": ("ignored", 1, 1, UNHANDLED),
    }
    assert rows["evt_old"].processed_at == old.processed_at
    # Ignored as stored; processed after it was stored (the worker's clock, later).
    assert rows["evt_new_i"].processed_at == rows["evt_new_i"].stored_at
    new = rows["evt_new"]
    assert new.processed_at is not None and new.processed_at >= new.stored_at


def test_a_failing_handler_redoes_the_batch_and_each_event_ends_right(
    db: sessionmaker[Session], updates: RowUpdates
) -> None:
    service = service_for(db, failing="evt_bad")
    batch = [
        stripe_envelope("evt_ok"),
        stripe_envelope("evt_bad"),
        stripe_envelope("evt_ign", UNHANDLED),
    ]
    stored, result = service.ingest(batch)
    rows = by_key(db)
    assert (stored.stored, stored.duplicates) == (3, 0)
    assert result.processed == [rows["evt_ok"].id]
    assert result.ignored == [rows["evt_ign"].id]
    assert [event_id for event_id, _ in result.retry] == [rows["evt_bad"].id]
    assert sorted(status for _, status, _ in result.finished) == ["failed", "ignored", "processed"]
    assert {k: (r.status, r.attempts) for k, r in rows.items()} == {
        "evt_ok": ("processed", 1),
        "evt_bad": ("failed", 1),
        "evt_ign": ("ignored", 1),
    }
    assert rows["evt_ign"].processed_at is not None
    # Only the redo committed (the first pass rolled back, its log with it).
    assert updates.take() == [
        ("evt_bad", "received", "failed"),  # in id order (the batch is sorted by key)
        ("evt_ok", "received", "processed"),
    ]
