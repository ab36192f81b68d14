"""Reconciliation: a payment pending too long is re-fetched from its provider (respx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.payments.reconcile import reconcile_payment, stale_payments
from pipeline.providers.tbank import make_token
from pipeline.settings import get_settings
from schema import Notification, Order, Payment
from tests.pipeline.payments.conftest import RecordingSender, run

OLD = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "YOOKASSA_SHOP_ID": "54401",
        "YOOKASSA_SECRET_KEY": "test_key",
        "YOOKASSA_API_BASE": "https://yk.test",
        "STRIPE_API_KEY": "sk_test_1",
        "STRIPE_API_BASE": "https://stripe.test",
        "TBANK_TERMINAL_KEY": "TestTerminal",
        "TBANK_PASSWORD": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield  # each run's context reads the provider settings above


def pending(db: sessionmaker[Session], order: Order, provider: str, payment_id: str) -> int:
    with db() as session:
        # The order is one paid through this provider (the money rules check it).
        session.execute(update(Order).where(Order.id == order.id).values(payment_method=provider))
        payment = Payment(
            provider=provider,
            provider_payment_id=payment_id,
            order_id=order.id,
            status="pending",
            amount_minor=order.amount_minor,
            currency="RUB",
        )
        session.add(payment)
        session.flush()
        session.execute(update(Payment).where(Payment.id == payment.id).values(updated_at=OLD))
        session.commit()
        return payment.id


def order_status(db: sessionmaker[Session], order: Order) -> str:
    with db() as session:
        return session.execute(select(Order.status).where(Order.id == order.id)).scalar_one()


def kinds(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return list(session.execute(select(Notification.kind)).scalars())


@respx.mock
def test_yookassa_payment_succeeded_while_its_webhook_was_lost(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, providers: None
) -> None:
    payment_id = pending(db, order, "yookassa", "2f-yk-1")
    respx.get("https://yk.test/v3/payments/2f-yk-1").respond(
        json={
            "id": "2f-yk-1",
            "status": "succeeded",
            "paid": True,
            "amount": {"value": "100.00", "currency": "RUB"},
            "metadata": {"order_id": order.public_id},
        }
    )
    with db() as session:
        assert stale_payments(session, datetime.now(UTC), 900) == [payment_id]
    assert run(db, reconcile_payment, payment_id) == "succeeded"
    assert order_status(db, order) == "paid"
    assert kinds(db) == ["payment_received"]
    assert "workers.send_notifications" in sent.names()


@respx.mock
def test_yookassa_payment_still_pending_is_looked_at_again_later(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, providers: None
) -> None:
    payment_id = pending(db, order, "yookassa", "2f-yk-2")
    respx.get("https://yk.test/v3/payments/2f-yk-2").respond(
        json={
            "id": "2f-yk-2",
            "status": "pending",
            "paid": False,
            "amount": {"value": "100.00", "currency": "RUB"},
        }
    )
    assert run(db, reconcile_payment, payment_id) == "pending"
    with db() as session:  # touched: not stale until another threshold passes
        assert stale_payments(session, datetime.now(UTC), 900) == []
    assert kinds(db) == []


@respx.mock
def test_stripe_payment_intent_is_refetched(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, providers: None
) -> None:
    payment_id = pending(db, order, "stripe", "pi_reconcile_1")
    route = respx.get("https://stripe.test/v1/payment_intents/pi_reconcile_1").respond(
        json={
            "id": "pi_reconcile_1",
            "object": "payment_intent",
            "status": "succeeded",
            "amount": 10000,
            "amount_received": 10000,
            "currency": "rub",
            "metadata": {"order_id": order.public_id},
        }
    )
    assert run(db, reconcile_payment, payment_id) == "succeeded"
    assert route.calls.last.request.headers["Authorization"] == "Bearer sk_test_1"
    assert order_status(db, order) == "paid"


@respx.mock
def test_tbank_rejected_payment_ends_failed(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, providers: None
) -> None:
    payment_id = pending(db, order, "tbank", "700001")
    route = respx.post("https://securepay.tinkoff.ru/v2/GetState").mock(
        return_value=httpx.Response(
            200,
            json={
                "Success": False,
                "ErrorCode": "0",
                "TerminalKey": "TestTerminal",
                "Status": "REJECTED",
                "PaymentId": "700001",
                "OrderId": order.public_id,
                "Amount": 10000,
            },
        )
    )
    assert run(db, reconcile_payment, payment_id) == "failed"
    body = route.calls.last.request.content
    assert b'"PaymentId":"700001"' in body.replace(b" ", b"") and b"Token" in body
    assert order_status(db, order) == "failed"
    assert kinds(db) == ["payment_failed"]


@respx.mock
def test_tbank_reconciliation_asks_every_configured_terminal(
    db: sessionmaker[Session],
    order: Order,
    sent: RecordingSender,
    providers: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TBANK_TERMINALS", "ShopA:pass-a,ShopB:pass-b")
    payment_id = pending(db, order, "tbank", "700002")
    not_ours = {"Success": False, "ErrorCode": "7", "Message": "Payment not found"}
    confirmed = {
        "Success": True,
        "ErrorCode": "0",
        "TerminalKey": "ShopB",
        "Status": "CONFIRMED",
        "PaymentId": "700002",
        "OrderId": order.public_id,
        "Amount": 10000,
    }
    route = respx.post("https://securepay.tinkoff.ru/v2/GetState").mock(
        side_effect=[httpx.Response(200, json=not_ours), httpx.Response(200, json=confirmed)]
    )
    assert run(db, reconcile_payment, payment_id) == "succeeded"
    asked = [json.loads(call.request.content) for call in route.calls]
    assert [body["TerminalKey"] for body in asked] == ["ShopA", "ShopB"]
    # Each request is signed with its own terminal's password.
    for body, password in zip(asked, ["pass-a", "pass-b"], strict=True):
        assert body["Token"] == make_token({k: v for k, v in body.items()}, password)
