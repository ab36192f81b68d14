"""Amounts from providers' webhooks: one above 2^31 is read whole and settles its order; a
negative, fractional or absurd one ends dead with the reason, never as a crash or a retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.domain.normalized import PaymentEvent
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers import cloudpayments, robokassa, tbank, yookassa
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema import Event, Order, Payment
from tests.pipeline.events.test_service import envelope
from tests.pipeline.payments.conftest import RecordingSender, make_order
from tests.pipeline.providers.cases import fixture, fixture_json
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
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0, 0),
        deps=Deps.build(),
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
        (-100, "must not be negative"),
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


def _yookassa(value: Any) -> PaymentEvent:
    payment = {"id": "yk-1", "status": "succeeded", "paid": True, "metadata": {"order_id": "1"},
               "amount": {"value": value, "currency": "RUB"}}  # fmt: skip
    return yookassa.normalize_payment(payment, "y")


def _robokassa(value: Any) -> PaymentEvent:
    return robokassa.normalize({"InvId": "1", "OutSum": value}, "r")


def _cloudpayments(value: Any) -> PaymentEvent | None:
    fields = dict(parse_qsl(fixture("cloudpayments", "pay.txt").decode()))
    fields["Amount"] = value
    return cloudpayments.normalize_payment("pay", fields, "cloudpayments", "c", "RUB")


def _tbank(value: Any) -> PaymentEvent | None:
    fields = {**fixture_json("tbank", "payment_confirmed.json"), "Amount": value}
    return tbank.normalize_payment(fields, "t")


# Each provider's own notation of 30,000,000.00 RUB, of an absurd and of a negative amount.
NOTATIONS: dict[str, tuple[Callable[[Any], PaymentEvent | None], Any, Any, Any]] = {
    "yookassa": (_yookassa, "30000000.00", "1" + "0" * 20, "-30000000.00"),
    "robokassa": (_robokassa, "30000000.000000", "1e30", "-30000000.000000"),
    "cloudpayments": (_cloudpayments, "30000000.00", "1e30", "-30000000.00"),
    "tbank": (_tbank, LARGE, 10**22, -LARGE),  # kopecks, a JSON number
}


@pytest.mark.parametrize("name", sorted(NOTATIONS))
def test_each_provider_reads_amounts_above_two_to_the_31(name: str) -> None:
    normalize, large, absurd, negative = NOTATIONS[name]
    event = normalize(large)
    assert event is not None and event.amount == LARGE
    for wrong in (absurd, negative):
        with pytest.raises(PermanentError):
            normalize(wrong)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (10**22, "(23 digits)"),
        (-5, "must not be negative"),
        ("100", "must be an integer in minor units, got '100'"),
        (1.5, "must be an integer in minor units, got 1.5"),
        (True, "must be an integer in minor units, got True"),
        ("9" * 100, "str of 102 characters"),
    ],
)
def test_an_integer_amount_that_breaks_a_rule_says_which(value: Any, said: str) -> None:
    """T-Bank, Stripe and Telegram send integers in minor units; the dead event's error
    names the broken rule (an operator reads it), not a blanket "non-negative integer"."""
    with pytest.raises(PermanentError) as caught:
        _tbank(value)
    assert said in str(caught.value) and "Amount (kopecks)" in str(caught.value)
