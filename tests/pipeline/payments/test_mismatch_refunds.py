"""A mismatched payment's money goes back through the provider where it can (respx);
elsewhere the operators are told to refund it by hand."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.messaging.queues import TASK_REFUND_PAYMENT
from pipeline.payments.refunds import RefundClients, refund_mismatched
from pipeline.payments.service import apply_event
from pipeline.providers.api.http import ApiRejected
from pipeline.providers.api.stripe import HttpStripeApi
from pipeline.providers.api.yookassa import HttpYooKassaApi
from pipeline.providers.stripe import StripeSettings
from pipeline.providers.yookassa import YooKassaSettings
from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi
from schema import Alert, Order, Payment
from tests.pipeline.payments.conftest import RecordingSender, make_order, run


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "YOOKASSA_SHOP_ID": "54401",
        "YOOKASSA_SECRET_KEY": "test_key",
        "YOOKASSA_API_BASE": "https://yk.test",
        "TELEGRAM_BOT_TOKEN": "123:t",
        "TELEGRAM_API_BASE": "https://tg.test",
        "STRIPE_API_KEY": "sk_test_1",
        "STRIPE_API_BASE": "https://stripe.test",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def event(provider: str, payment_id: str, amount: int, currency: str, **kw: Any) -> PaymentEvent:
    return PaymentEvent(
        provider=provider,
        provider_payment_id=payment_id,
        order_reference="ord-1",
        amount=amount,
        currency=currency,
        status=PaymentStatus.SUCCEEDED,
        paid_amount=amount,
        raw_reference=f"{provider}:{payment_id}",
        **kw,
    )


def paid_twice(db: sessionmaker[Session], method: str, currency: str, second: PaymentEvent) -> int:
    """An order paid once properly, then `second` naming it again; the second's id."""
    with db() as session:
        order = make_order(session, method=method, currency=currency)
        session.commit()
    first = event(second.provider, "first", order.amount_minor, currency, payer_id=second.payer_id)
    run(db, apply_event, first)
    run(db, apply_event, second)
    with db() as session:
        payment = session.execute(
            select(Payment).where(Payment.provider_payment_id == second.provider_payment_id)
        ).scalar_one()
        assert payment.mismatch == "order ord-1 is already paid"
        return payment.id


def refund(db: sessionmaker[Session], payment_id: int) -> str | None:
    yookassa, stripe = HttpYooKassaApi(YooKassaSettings()), HttpStripeApi(StripeSettings())
    apis = RefundClients(BotApi(get_settings()), yookassa, stripe)
    result: str | None = run(db, lambda ctx: refund_mismatched(ctx, payment_id, apis))
    return result


def statuses(db: sessionmaker[Session]) -> tuple[str, list[str]]:
    with db() as session:
        order = session.execute(select(Order.status)).scalar_one()
        payments = session.execute(select(Payment.status).order_by(Payment.id)).scalars()
        return order, list(payments)


@respx.mock
def test_a_second_stars_payment_is_refunded_to_its_payer(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    second = event("telegram", "charge-2", 50, "XTR", payer_id=777)
    payment_id = paid_twice(db, "stars", "XTR", second)
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    route = respx.post("https://tg.test/bot123:t/refundStarPayment").respond(
        json={"ok": True, "result": True}
    )
    assert refund(db, payment_id) == "refunded"
    assert json.loads(route.calls.last.request.content) == {
        "user_id": 777,
        "telegram_payment_charge_id": "charge-2",
    }
    assert statuses(db) == ("paid", ["succeeded", "refunded"])
    assert refund(db, payment_id) is None  # nothing left: no second call
    assert route.call_count == 1


@respx.mock
def test_a_yookassa_payment_of_the_wrong_amount_is_refunded(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    with db() as session:
        make_order(session, method="yookassa")
        session.commit()
    run(db, apply_event, event("yookassa", "yk-2", 1, "RUB"))
    with db() as session:
        payment_id = session.execute(select(Payment.id)).scalar_one()
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    route = respx.post("https://yk.test/v3/refunds").respond(
        json={"id": "rf-1", "status": "succeeded", "payment_id": "yk-2"}
    )
    respx.get("https://yk.test/v3/payments/yk-2").respond(
        json={
            "id": "yk-2",
            "status": "succeeded",
            "paid": True,
            "amount": {"value": "0.01", "currency": "RUB"},
            "refunded_amount": {"value": "0.01", "currency": "RUB"},
            "metadata": {"order_id": "ord-1"},
        }
    )
    assert refund(db, payment_id) == "refunded"
    request = route.calls.last.request
    assert request.headers["Idempotence-Key"] == f"mismatch-refund-{payment_id}"
    assert json.loads(request.content)["amount"] == {"value": "0.01", "currency": "RUB"}
    assert statuses(db) == ("created", ["refunded"])


@respx.mock
def test_a_stripe_checkout_for_the_wrong_amount_is_refunded_through_its_intent(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    with db() as session:
        make_order(session, method="stripe", currency="USD")
        session.commit()
    run(db, apply_event, event("stripe", "cs_1", 1, "USD", refund_target="pi_1"))
    with db() as session:
        payment_id = session.execute(select(Payment.id)).scalar_one()
    route = respx.post("https://stripe.test/v1/refunds").respond(
        json={"id": "re_1", "status": "succeeded"}
    )
    assert refund(db, payment_id) == "refunded"
    request = route.calls.last.request
    assert parse_qs(request.content.decode()) == {"payment_intent": ["pi_1"], "amount": ["1"]}
    assert request.headers["Idempotency-Key"] == f"mismatch-refund-{payment_id}"
    assert request.headers["Authorization"] == "Bearer sk_test_1"


@pytest.mark.parametrize("provider", ["cloudpayments", "tbank", "robokassa", "stripe"])
def test_where_no_refund_can_be_made_here_the_alert_says_so(
    db: sessionmaker[Session],
    sent: RecordingSender,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY")
    get_settings.cache_clear()
    with db() as session:
        make_order(session, method=provider)
        session.commit()
    run(db, apply_event, event(provider, "pay-9", 1, "RUB"))
    assert TASK_REFUND_PAYMENT not in sent.names()
    with db() as session:
        [text] = session.execute(select(Alert.text)).scalars().all()
    assert "names order ord-1" in text and "Manual refund needed" in text


@respx.mock
def test_a_refund_the_provider_refuses_is_left_to_the_operators(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    from workers.celery_app import app as worker_app
    from workers.tasks.business import refund_payment

    with db() as session:
        make_order(session, method="yookassa")
        session.commit()
    run(db, apply_event, event("yookassa", "yk-3", 1, "RUB"))
    with db() as session:
        payment_id = session.execute(select(Payment.id)).scalar_one()
    respx.post("https://yk.test/v3/refunds").respond(400, json={"code": "invalid_request"})
    worker_app.reset_runtime()
    try:
        with pytest.raises(ApiRejected):
            refund_payment(payment_id)
    finally:
        worker_app.reset_runtime()
    with db() as session:
        texts = session.execute(select(Alert.text)).scalars().all()
        assert session.execute(select(Payment.status)).scalar_one() == "succeeded"
    assert any(f"refund of payment {payment_id} failed" in t and "by hand" in t for t in texts)
