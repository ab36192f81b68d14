"""Amounts from providers' webhooks: one above 2^31 settles its order whole; a negative,
fractional, absurd or missing one ends dead with the reason, never as a crash or a retry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema import Event, Order, Payment
from tests.payments.conftest import RecordingSender, make_order
from tests.pipeline.events.test_service import envelope
from tests.support.signing import stripe_event

LARGE = 3_000_000_000


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_CHAT_ID", "-100500")
    get_settings.cache_clear()


def _deliver(db: sessionmaker[Session], amount: Any, event_id: str = "evt_1") -> Event:
    intent = {
        "id": f"pi_{event_id}",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "rub",
        "status": "succeeded",
        "metadata": {"order_id": "ord-1"},
    }
    body = stripe_event(
        event_id, "payment_intent.succeeded", livemode=True, data={"object": intent}
    )
    service = EventService(
        db, build_registry(with_plugins=False), load_handler_modules(), RetryPolicy(3, 0, 0)
    )
    service.ingest([envelope("stripe", event_id, body, "payment_intent.succeeded")])
    with db() as session:
        return session.scalars(select(Event).where(Event.external_id == event_id)).one()


def test_a_payment_above_two_to_the_31_settles_its_order(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    with db() as session:
        order = make_order(session, method="any")
        order.amount_minor = LARGE
        session.commit()
    event = _deliver(db, LARGE)
    assert (event.status, event.last_error) == ("processed", None)
    with db() as session:
        order_row = session.scalars(select(Order)).one()
        payment = session.scalars(select(Payment)).one()
        assert order_row.status == "paid"
        assert (payment.amount_minor, payment.paid_minor, payment.mismatch) == (LARGE, LARGE, None)


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (-100, "must be a non-negative integer"),
        (10**20, "is above"),
        (2**63, "is above"),
        (100.5, "must be integers"),
        ("100", "must be integers"),
    ],
)
def test_an_impossible_amount_is_dead_with_its_reason(
    db: sessionmaker[Session], sent: RecordingSender, amount: Any, reason: str
) -> None:
    with db() as session:
        make_order(session, method="any")
        session.commit()
    event = _deliver(db, amount)
    assert event.status == "dead"
    assert event.last_error is not None and reason in event.last_error
    with db() as session:
        assert session.scalars(select(Order)).one().status == "created"


def test_a_zero_payment_settles_nothing(db: sessionmaker[Session], sent: RecordingSender) -> None:
    with db() as session:
        make_order(session, method="any")
        session.commit()
    event = _deliver(db, 0)
    assert event.status == "processed"
    with db() as session:
        assert session.scalars(select(Order)).one().status == "created"
        payment = session.scalars(select(Payment)).one()
        assert payment.order_id is None and "less than the order's" in (payment.mismatch or "")
