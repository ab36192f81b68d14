"""The money rules: a payment settles only its own order (currency, amount, provider, mode,
state agree); otherwise it is recorded, the order is untouched and the operators alerted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.messaging.queues import TASK_REFUND_PAYMENT
from pipeline.payments.service import apply_event
from pipeline.providers import robokassa, stripe, yookassa
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema import Alert, Notification, Order, Payment, Receipt
from tests.pipeline.events.test_service import envelope
from tests.pipeline.payments.conftest import RecordingSender, make_order, run
from tests.support.signing import stripe_event

S = PaymentStatus


def pay(
    status: PaymentStatus = S.SUCCEEDED,
    *,
    provider: str = "yookassa",
    payment_id: str = "pay-1",
    amount: int = 10000,
    currency: str = "RUB",
    ref: str = "ord-1",
    **kw: Any,
) -> PaymentEvent:
    paid = amount if status is S.SUCCEEDED else None
    return PaymentEvent(
        provider=provider,
        provider_payment_id=payment_id,
        order_reference=ref,
        amount=amount,
        currency=currency,
        status=status,
        paid_amount=kw.pop("paid_amount", paid),
        raw_reference=f"{provider}:{payment_id}:{status}",
        **kw,
    )


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISCAL_REGISTER", "atol")
    monkeypatch.setenv("ALERT_CHAT_ID", "-100500")
    get_settings.cache_clear()


def order_of(db: sessionmaker[Session], method: str = "yookassa", currency: str = "RUB") -> int:
    with db() as session:
        order = make_order(session, method=method, currency=currency)
        session.commit()
        return order.id


def state(db: sessionmaker[Session], order_id: int) -> dict[str, Any]:
    with db() as session:
        order = session.get(Order, order_id)
        assert order is not None
        payments = session.execute(select(Payment).order_by(Payment.id)).scalars().all()
        return {
            "order": order.status,
            "payments": [
                (p.provider_payment_id, p.status, p.order_id, p.mismatch) for p in payments
            ],
            "alerts": [
                a.text
                for a in session.execute(
                    select(Alert).order_by(Alert.first_at, Alert.key)
                ).scalars()
            ],
            "receipts": session.execute(select(Receipt.total_minor)).scalars().all(),
            "notes": session.execute(select(Notification.template)).scalars().all(),
        }


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (pay(amount=1), "0.01 RUB is less than the order's 100.00 RUB"),
        (pay(currency="USD"), "currency USD, the order is in RUB"),
        (pay(provider="cloudpayments"), "cloudpayments is not how order ord-1 is paid"),
        (pay(test=True), "a test-mode payment"),
    ],
    ids=["amount", "currency", "provider", "test-mode"],
)
def test_a_payment_that_does_not_match_leaves_the_order_alone(
    db: sessionmaker[Session], sent: RecordingSender, event: PaymentEvent, why: str
) -> None:
    order_id = order_of(db)
    run(db, apply_event, event)
    seen = state(db, order_id)
    assert seen["order"] == "created"
    [(_, status, linked, mismatch)] = seen["payments"]
    assert (status, linked) == ("succeeded", None)  # recorded, not linked
    assert mismatch is not None and why in mismatch
    [alert] = seen["alerts"]
    assert "ord-1" in alert and why in alert
    assert seen["receipts"] == [] and "payment_received" not in seen["notes"]


def test_test_payments_settle_when_allowed(
    db: sessionmaker[Session], sent: RecordingSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_TEST_PAYMENTS", "true")
    get_settings.cache_clear()
    order_id = order_of(db)
    run(db, apply_event, pay(test=True))
    assert state(db, order_id)["order"] == "paid"


def test_an_overpayment_settles_the_order_and_is_recorded(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay(amount=15000))
    seen = state(db, order_id)
    assert seen["order"] == "paid"
    with db() as session:
        assert session.execute(select(Payment.overpaid_minor)).scalar_one() == 5000
    assert any("50.00 RUB more" in a for a in seen["alerts"])


def test_a_later_failed_payment_never_downgrades_a_paid_order(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay())
    run(db, apply_event, pay(S.FAILED, payment_id="pay-2"))
    run(db, apply_event, pay(S.CANCELED, payment_id="pay-3"))
    seen = state(db, order_id)
    assert seen["order"] == "paid"
    assert seen["notes"] == ["payment_received"]


def test_a_second_payment_for_a_paid_order_is_refunded(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay())
    run(db, apply_event, pay(payment_id="pay-2"))
    seen = state(db, order_id)
    assert seen["order"] == "paid"
    assert seen["payments"][1][2:] == (None, "order ord-1 is already paid")
    assert sent.names().count(TASK_REFUND_PAYMENT) == 0  # YooKassa is not configured here
    assert "Manual refund needed" in seen["alerts"][-1]
    assert seen["receipts"] == [10000]  # the first payment's only


def test_a_failed_attempt_leaves_the_order_payable(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay(S.FAILED, payment_id="card-declined"))
    assert state(db, order_id)["order"] == "failed"
    run(db, apply_event, pay(payment_id="second-card"))
    seen = state(db, order_id)
    assert seen["order"] == "paid" and seen["alerts"] == []


def test_the_paying_payments_refund_still_moves_the_order(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay())
    run(db, apply_event, pay(S.REFUNDED, paid_amount=10000, refunded_amount=10000))
    assert state(db, order_id)["order"] == "refunded"


def test_an_order_for_any_provider_takes_any_of_them(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db, method="any")
    run(db, apply_event, pay(provider="cloudpayments"))
    assert state(db, order_id)["order"] == "paid"


def test_stars_orders_take_telegram_payments_only(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db, method="stars", currency="XTR")
    run(db, apply_event, pay(provider="stripe", amount=50, currency="XTR"))
    assert state(db, order_id)["order"] == "created"
    run(db, apply_event, pay(provider="telegram", payment_id="ch-1", amount=50, currency="XTR"))
    assert state(db, order_id)["order"] == "paid"


def test_an_order_past_its_time_takes_no_payment(
    db: sessionmaker[Session], sent: RecordingSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDER_PAY_WITHIN_H", "1")
    get_settings.cache_clear()
    order_id = order_of(db)
    with db() as session:
        old = datetime.now(UTC) - timedelta(hours=2)
        session.execute(update(Order).where(Order.id == order_id).values(created_at=old))
        session.commit()
    run(db, apply_event, pay())
    seen = state(db, order_id)
    assert seen["order"] == "created" and "not paid in time" in seen["alerts"][0]


def test_a_mismatched_payment_never_moves_the_order_later(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    order_id = order_of(db)
    run(db, apply_event, pay(S.PENDING, amount=1))
    run(db, apply_event, pay(S.SUCCEEDED, amount=1))
    seen = state(db, order_id)
    assert seen["order"] == "created"
    assert len(seen["alerts"]) == 2  # first sight, then the money arriving
    assert "Manual refund needed" in seen["alerts"][1]


def test_a_one_cent_payment_link_naming_an_order_does_not_pay_it(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    """The attack from the issue, end to end: a genuine Stripe Checkout Session of 1 cent
    whose client_reference_id (set by the payer in the link's URL) names a real order."""
    order_id = order_of(db, method="any", currency="USD")
    session_object = {
        "id": "cs_live_1",
        "object": "checkout.session",
        "amount_total": 1,
        "currency": "usd",
        "payment_status": "paid",
        "status": "complete",
        "client_reference_id": "ord-1",
        "payment_intent": "pi_1",
    }
    body = stripe_event(
        "evt_1", "checkout.session.completed", livemode=True, data={"object": session_object}
    )
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0, 0),
        deps=Deps.build(),
    )
    service.ingest([envelope("stripe", "evt_1", body, "checkout.session.completed")])
    seen = state(db, order_id)
    assert seen["order"] == "created"
    assert seen["payments"] == [
        ("cs_live_1", "succeeded", None, "0.01 USD is less than the order's 100.00 USD")
    ]


def _test_mode_payments() -> dict[str, PaymentEvent]:
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 10000,
        "amount_received": 10000,
        "currency": "rub",
        "status": "succeeded",
        "metadata": {"order_id": "5001"},
    }
    [intent_paid] = stripe.normalize(
        "payment_intent.succeeded", {"livemode": False, "data": {"object": intent}}, "s"
    )
    assert isinstance(intent_paid, PaymentEvent)
    payment = {
        "id": "yk-1",
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "100.00", "currency": "RUB"},
        "metadata": {"order_id": "5001"},
        "test": True,
    }
    return {
        "stripe": intent_paid,
        "robokassa": robokassa.normalize({"InvId": "5001", "OutSum": "100.00", "IsTest": "1"}, "r"),
        "yookassa": yookassa.normalize_payment(payment, "y"),
    }


@pytest.mark.parametrize("allowed", [False, True])
@pytest.mark.parametrize("provider", ["stripe", "robokassa", "yookassa"])
def test_test_mode_payments_settle_only_when_allowed(
    db: sessionmaker[Session],
    sent: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    allowed: bool,
) -> None:
    monkeypatch.setenv("ALLOW_TEST_PAYMENTS", str(allowed).lower())
    get_settings.cache_clear()
    with db() as session:
        order_id = make_order(session, public_id="5001", method="any").id
        session.commit()
    run(db, apply_event, _test_mode_payments()[provider])
    assert state(db, order_id)["order"] == ("paid" if allowed else "created")
