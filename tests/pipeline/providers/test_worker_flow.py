"""From the receiver to the domain: a webhook posted twice is answered twice, stored
once, processed once, and reaches the domain as one normalized event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import (
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.events.service import EventService
from schema.events import Event, EventStatus
from tests.pipeline.providers.apis import happy_paths, use_test_apis
from tests.pipeline.providers.cases import CASES, Request, TelegramCase, fixture
from tests.pipeline.providers.conftest import Send, drain

Expect = tuple[Callable[[], Request], type, dict[str, Any]]

EXPECTED: dict[str, Expect] = {
    "telegram": (
        lambda: TelegramCase().signed(fixture("telegram", "successful_payment.json")),
        PaymentEvent,
        {
            "provider_payment_id": "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "order_reference": "order-42",
            "amount": 50,
            "currency": "XTR",
            "status": PaymentStatus.SUCCEEDED,
        },
    ),
    "stripe": (
        CASES["stripe"].valid,
        PaymentEvent,
        {
            "provider_payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
            "order_reference": "42",
            "amount": 2000,
            "currency": "USD",
            "status": PaymentStatus.SUCCEEDED,
            "test": True,
        },
    ),
    "yookassa": (
        CASES["yookassa"].valid,
        PaymentEvent,
        {
            "provider_payment_id": "22d6d597-000f-5000-9000-145f6df21d6f",
            "order_reference": "72",
            "amount": 200,
            "currency": "RUB",
            "status": PaymentStatus.SUCCEEDED,
            "paid_amount": 200,
        },
    ),
    "cloudpayments": (
        CASES["cloudpayments"].valid,
        PaymentEvent,
        {
            "provider_payment_id": "504",
            "order_reference": "1234567",
            "amount": 10000,
            "currency": "RUB",
            "status": PaymentStatus.SUCCEEDED,
            "paid_amount": 10000,
        },
    ),
    "cloudkassir": (
        CASES["cloudkassir"].valid,
        ReceiptEvent,
        {
            "receipt_id": "7f15d5b7-2a0a-4f0e-b8d4-4a8d31c0b1a1",
            "order_reference": "1234567",
            "payment_reference": "504",
            "status": ReceiptStatus.DONE,
            "ofd_receipt_url": "https://ofd-ya.ru/getfiscaldoc?fn=9999078900012345&fpd=2790451328",
        },
    ),
    "tbank": (
        CASES["tbank"].valid,
        PaymentEvent,
        {
            "provider_payment_id": "8742591",
            "order_reference": "201709",
            "amount": 9855,
            "currency": "RUB",
            "status": PaymentStatus.SUCCEEDED,
        },
    ),
    "robokassa": (
        CASES["robokassa"].valid,
        PaymentEvent,
        {
            "provider_payment_id": "450009",
            "amount": 10000,
            "currency": "RUB",
            "status": PaymentStatus.SUCCEEDED,
        },
    ),
    "atol": (
        CASES["atol"].valid,
        ReceiptEvent,
        {
            "receipt_id": "f2f3e1a4-53a5-4f5c-9cf5-8e3a4d3f2d11",
            "order_reference": "order-1234567",
            "status": ReceiptStatus.DONE,
            "ofd_receipt_url": (
                "https://consumer.1-ofd.ru/v1?fn=9999078900012345&fd=133&fp=3449555941"
            ),
        },
    ),
    "orangedata": (
        CASES["orangedata"].valid,
        ReceiptEvent,
        {
            "receipt_id": "a88b6b30-20ab-47ea-95ca-f12f22ef03d3",
            "status": ReceiptStatus.DONE,
        },
    ),
}


def _check(event: NormalizedEvent, kind: type, fields: dict[str, Any]) -> None:
    assert isinstance(event, kind)
    for name, value in fields.items():
        assert getattr(event, name) == value, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_duplicate_is_answered_again_and_processed_once(
    name: str,
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
    delivered: list[NormalizedEvent],
) -> None:
    build, kind, fields = EXPECTED[name]
    success = CASES[name].success_body
    for _ in range(2):
        response = receiver(build())
        assert response.status_code == 200
        assert response.content == success
    use_test_apis(service.deps)
    with respx.mock(assert_all_called=False) as router:
        happy_paths(router)
        stored = service.store(drain(broker))
        assert (stored.stored, stored.duplicates) == (1, 1)
        result = service.process(stored.to_process)
        assert result.processed == stored.to_process, result
        # Later redelivery: recorded as a duplicate, not processed again, unless the
        # provider is re-fetched (then it is checked again: the key proves nothing).
        assert receiver(build()).content == success
        again = service.store(drain(broker))
        rechecked = stored.to_process if name in service.recheck else []
        assert (again.stored, again.duplicates, again.to_process) == (0, 1, rechecked)
        service.process(again.to_process)
    assert len(delivered) == 1 + len(rechecked)
    _check(delivered[-1], kind, fields)
    assert delivered[0].raw_reference.startswith(f"{name}:")
    with db() as session:
        event = session.scalars(select(Event).where(Event.source == name)).one()
        assert (event.status, event.duplicates) == (EventStatus.PROCESSED.value, 2)
