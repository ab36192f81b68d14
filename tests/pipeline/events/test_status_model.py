"""The event status model is what other transactions can see: no status that only ever
exists inside an uncommitted transaction, and the sweep finds what a dead worker left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.events import repository
from pipeline.events.handlers import HandlerContext, HandlerRegistry
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event, EventStatus
from tests.pipeline.events.test_service import envelope
from tests.support.signing import stripe_event


class WorkerDied(BaseException):
    """Stands for a killed worker: nothing after it in the transaction commits."""


def test_every_status_is_one_a_committed_row_can_have() -> None:
    assert {s.value for s in EventStatus} == {"received", "processed", "ignored", "failed", "dead"}


def test_the_database_refuses_a_status_outside_the_model(db: sessionmaker[Session]) -> None:
    with db() as session:
        session.add(
            Event(source="s", type="t", external_id="1", status="processing", received_at=_now())
        )
        with pytest.raises(IntegrityError):
            session.commit()


def test_sweep_finds_an_event_whose_worker_died_mid_handler(db: sessionmaker[Session]) -> None:
    registry = HandlerRegistry()

    def dies(ctx: HandlerContext) -> None:
        with db() as other:  # what the rest of the system sees meanwhile
            seen: str = other.execute(text("SELECT status FROM events")).scalar_one()
        assert seen == EventStatus.RECEIVED
        raise WorkerDied

    registry.register("stripe", "*", dies)
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(3, 0, 0),
        deps=Deps.build(),
    )
    body = stripe_event("evt_1")
    stored = service.store([envelope("stripe", "evt_1", body, "payment_intent.succeeded")])
    with pytest.raises(WorkerDied):
        service.process(stored.to_process)
    with db() as session:
        assert repository.stuck(session, _now() + timedelta(seconds=1), 10) == stored.to_process


def _now() -> datetime:
    return datetime.now(UTC)
