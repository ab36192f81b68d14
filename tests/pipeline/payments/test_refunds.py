"""Operator refunds change a payment only when the provider confirms (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.payments.refunds import RefundClients, RefundError, refund_order
from pipeline.providers.api.yookassa import HttpYooKassaApi
from pipeline.providers.yookassa import YooKassaSettings
from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi, TelegramError
from schema import Notification, Payment
from tests.pipeline.payments.conftest import RecordingSender, make_order, run


def clients() -> RefundClients:
    return RefundClients(BotApi(get_settings()), HttpYooKassaApi(YooKassaSettings()))


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOOKASSA_SHOP_ID", "54401")
    monkeypatch.setenv("YOOKASSA_SECRET_KEY", "test_key")
    monkeypatch.setenv("YOOKASSA_API_BASE", "https://yk.test")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:t")
    monkeypatch.setenv("TELEGRAM_API_BASE", "https://tg.test")
    get_settings.cache_clear()


def paid(db: sessionmaker[Session], provider: str, currency: str) -> str:
    with db() as session:
        order = make_order(session, method=provider, currency=currency)
        session.add(
            Payment(
                provider=provider,
                provider_payment_id="charge-1",
                order_id=order.id,
                status="succeeded",
                amount_minor=order.amount_minor,
                paid_minor=order.amount_minor,
                currency=currency,
            )
        )
        order.status = "paid"
        session.commit()
        return order.public_id


def status(db: sessionmaker[Session]) -> tuple[str, int]:
    with db() as session:
        payment = session.execute(select(Payment)).scalar_one()
        notes = session.execute(select(Notification)).scalars().all()
        return payment.status, len(notes)


@respx.mock
def test_yookassa_refund_still_pending_changes_nothing_yet(
    db: sessionmaker[Session], sent: RecordingSender, configured: None
) -> None:
    public_id = paid(db, "yookassa", "RUB")
    route = respx.post("https://yk.test/v3/refunds").respond(
        json={"id": "rf-1", "status": "pending", "payment_id": "charge-1"}
    )
    result = run(db, lambda ctx: refund_order(ctx, public_id, clients()))
    assert result == "succeeded"  # the refund.succeeded webhook will move it
    request = route.calls.last.request
    assert request.headers["Idempotence-Key"] == "refund-1-0"
    assert b'"value":"100.00"' in request.content.replace(b" ", b"")
    assert status(db) == ("succeeded", 0)


@respx.mock
def test_stars_refund_refused_by_telegram_changes_nothing(
    db: sessionmaker[Session], sent: RecordingSender, configured: None
) -> None:
    public_id = paid(db, "telegram", "XTR")
    respx.post("https://tg.test/bot123:t/refundStarPayment").mock(
        return_value=httpx.Response(
            400, json={"ok": False, "error_code": 400, "description": "CHARGE_ALREADY_REFUNDED"}
        )
    )
    with pytest.raises(TelegramError):
        run(db, lambda ctx: refund_order(ctx, public_id, clients()))
    assert status(db) == ("succeeded", 0)


def test_card_payments_made_in_telegram_are_not_refunded_here(
    db: sessionmaker[Session], sent: RecordingSender, configured: None
) -> None:
    public_id = paid(db, "telegram", "RUB")
    with pytest.raises(RefundError):
        run(db, lambda ctx: refund_order(ctx, public_id, clients()))
