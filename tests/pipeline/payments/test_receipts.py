"""Receipts: ATOL sell with a Redis-cached token (respx), callback/poll settle them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.payments.service import apply_event
from pipeline.providers.atol import AtolSettings
from pipeline.receipts.atol_register import AtolRegister
from pipeline.receipts.registration import poll_receipt, register_receipt
from pipeline.settings import get_settings
from schema import Notification, Order, Receipt
from tests.pipeline.payments.conftest import RecordingSender, run
from tests.support.services import TestServices

BASE = "https://atol.test/possystem/v5"
UUID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def atol(services: TestServices, monkeypatch: pytest.MonkeyPatch) -> AtolRegister:
    monkeypatch.setenv("FISCAL_REGISTER", "atol")
    monkeypatch.setenv("ALERT_CHAT_ID", "-100500")
    get_settings.cache_clear()
    client = redis.Redis.from_url(services.redis_client_url)
    client.delete("atol:token:login")
    settings = AtolSettings(login="login", password="pw", group_code="g1", api_base=BASE)  # type: ignore[arg-type]
    return AtolRegister(client, settings)


class FakeReportApi:
    def __init__(self, report: dict[str, Any]) -> None:
        self.answer = report

    def report(self, uuid: str) -> dict[str, Any]:
        return self.answer


def paid(db: sessionmaker[Session]) -> int:
    event = PaymentEvent(
        provider="yookassa",
        provider_payment_id="pay-1",
        order_reference="ord-1",
        amount=10000,
        currency="RUB",
        status=PaymentStatus.SUCCEEDED,
        paid_amount=10000,
    )
    run(db, apply_event, event)
    with db() as session:
        return session.execute(select(Receipt.id)).scalar_one()


@respx.mock
def test_sell_is_idempotent_and_token_is_cached(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, atol: AtolRegister
) -> None:
    token = respx.post(f"{BASE}/getToken").mock(
        return_value=httpx.Response(200, json={"token": "T"})
    )
    sell = respx.post(f"{BASE}/g1/sell").mock(
        return_value=httpx.Response(200, json={"uuid": UUID, "status": "wait", "error": None})
    )
    receipt_id = paid(db)
    with db() as session:
        assert register_receipt(session, receipt_id, atol, Deps.build()) == UUID
        session.commit()
    with db() as session:  # a repeated task does nothing more
        assert register_receipt(session, receipt_id, atol, Deps.build()) is None
    assert token.call_count == 1 and sell.call_count == 1
    body = sell.calls[0].request.read()
    assert b'"external_id":"p' in body.replace(b" ", b"") and b"/webhooks/atol" in body
    assert atol.redis is not None  # the fixture shares the token through Redis
    AtolRegister(atol.redis, atol.settings).token()  # another worker: cached token
    assert token.call_count == 1


def test_poll_settles_a_waiting_receipt_and_notifies_the_link(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, atol: AtolRegister
) -> None:
    receipt_id = paid(db)
    with db() as session:
        receipt = session.get(Receipt, receipt_id)
        assert receipt is not None
        receipt.status, receipt.register_receipt_id = "wait", UUID
        session.commit()
    report = {
        "uuid": UUID,
        "status": "done",
        "external_id": "x",
        "payload": {"total": 100, "ofd_receipt_url": "https://ofd.test/r/1"},
    }
    assert run(db, poll_receipt, receipt_id, FakeReportApi(report)) == "done"
    with db() as session:
        note = session.execute(
            select(Notification).where(Notification.template == "receipt_ready")
        ).scalar_one()
        assert note.params["url"] == "https://ofd.test/r/1"


def test_failed_receipt_alerts_the_operators(
    db: sessionmaker[Session], order: Order, sent: RecordingSender, atol: AtolRegister
) -> None:
    receipt_id = paid(db)
    with db() as session:
        receipt = session.get(Receipt, receipt_id)
        assert receipt is not None
        receipt.status, receipt.register_receipt_id = "wait", UUID
        session.commit()
    report = {"uuid": UUID, "status": "fail", "error": {"code": 32, "text": "bad INN"}}
    assert run(db, poll_receipt, receipt_id, FakeReportApi(report)) == "fail"
    with db() as session:
        alert = session.execute(
            select(Notification).where(Notification.kind == "alert")
        ).scalar_one()
        assert alert.chat_id == -100500 and "bad INN" in (alert.text or "")
