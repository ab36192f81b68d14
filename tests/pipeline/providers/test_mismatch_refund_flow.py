"""A signed CloudPayments Pay for less than its order, from the receiver on: the payment
is recorded as a mismatch, the order is untouched, and the refund task gives the money
back through CloudPayments' API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import respx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.service import EventService
from pipeline.messaging.queues import TASK_REFUND_PAYMENT
from pipeline.settings import get_settings
from schema import Order, Payment
from tests.pipeline.payments.conftest import RecordingSender, make_order, sending_to
from tests.pipeline.providers.cases import CASES
from tests.pipeline.providers.conftest import Send, drain


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingSender]:
    monkeypatch.setenv("CLOUDPAYMENTS_PUBLIC_ID", "pk_test_1")
    monkeypatch.setenv("CLOUDPAYMENTS_API_BASE", "https://cp.test")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:t")
    get_settings.cache_clear()
    sender = RecordingSender()
    sending_to(monkeypatch, sender)
    yield sender
    get_settings.cache_clear()


@respx.mock
def test_a_short_cloudpayments_payment_is_refunded_and_its_order_left_alone(
    receiver: Send,
    broker: str,
    sent: RecordingSender,  # before `service`: its Deps is built in the environment `sent` sets
    service: EventService,
    db: sessionmaker[Session],
) -> None:
    with db() as session:
        order_id = make_order(session, public_id="1234567", method="cloudpayments").id
        # The signed Pay (TransactionId 504) is for 100.00 RUB; the order costs 200.00.
        session.execute(update(Order).where(Order.id == order_id).values(amount_minor=20000))
        session.commit()
    assert receiver(CASES["cloudpayments"].valid()).status_code == 200
    stored = service.store(drain(broker))
    result = service.process(stored.to_process)
    assert result.processed == stored.to_process
    with db() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert (payment.provider_payment_id, payment.status) == ("504", "succeeded")
        assert payment.order_id is None
        assert payment.mismatch == "100.00 RUB is less than the order's 200.00 RUB"
        assert session.get(Order, order_id).status == "created"  # type: ignore[union-attr]
        payment_id = payment.id
    [(_, _, args)] = [s for s in sent.sent if s[0] == TASK_REFUND_PAYMENT]
    assert args == (payment_id,)

    from workers.celery_app import app as worker_app
    from workers.tasks.business import refund_payment

    route = respx.post("https://cp.test/payments/refund").respond(json={"Success": True})
    worker_app.reset_runtime()
    try:
        assert refund_payment(payment_id) == "succeeded"
    finally:
        worker_app.reset_runtime()
    assert json.loads(route.calls.last.request.content) == {"TransactionId": 504, "Amount": 100}
    assert b'"Amount":100.00' in route.calls.last.request.content
