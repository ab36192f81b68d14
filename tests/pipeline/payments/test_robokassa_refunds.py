"""Robokassa gives a mismatched payment's money back through its refund API (respx): the
OpKey from OpStateExt, then a JWT signed with Password #3, sent once. Refusals and outages
are in test_direct_refunds with the other providers."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import respx
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import PaymentStatus
from pipeline.messaging.queues import TASK_REFUND_PAYMENT
from pipeline.providers.api.http import ApiRejected
from pipeline.settings import get_settings
from schema import Payment
from tests.pipeline.payments.conftest import RecordingSender
from tests.pipeline.payments.test_direct_refunds import (
    RK_CREATE,
    RK_OP_STATE,
    RK_OP_STATE_XML,
    alerts,
    configured,  # noqa: F401 (the providers' settings, autouse)
    mismatched,
    refund,
    run_task,
    statuses,
)


@respx.mock
def test_robokassa_refunds_a_paid_mismatch_once(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    payment_id = mismatched(db, "robokassa", PaymentStatus.SUCCEEDED)
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    assert "A refund was requested" in alerts(db)[0]
    state = respx.get(RK_OP_STATE).respond(text=RK_OP_STATE_XML)
    create = respx.post(RK_CREATE).respond(json={"success": True, "requestId": "req-1"})
    assert refund(db, payment_id) == "succeeded"  # Robokassa settles the refund later
    params = state.calls.last.request.url.params
    signed = hashlib.md5(b"shop:504:rk-pass-2").hexdigest()
    assert dict(params) == {"MerchantLogin": "shop", "InvoiceID": "504", "Signature": signed}
    token = create.calls.last.request.content.decode()
    key = OctKey.import_key("robokassa-password-3")
    decoded = jwt.decode(token, key, algorithms=["HS256"])
    assert decoded.header["alg"] == "HS256"
    assert decoded.claims == {"OpKey": "op-key-504", "RefundSum": 1.0}
    assert statuses(db) == ("created", "succeeded")
    with db() as session:
        details: dict[str, Any] = session.execute(select(Payment.details)).scalar_one()
    assert details["refund_request_id"] == "req-1"
    assert details["refund_sent"] == f"mismatch-refund-{payment_id}"
    assert refund(db, payment_id) is None  # accepted already: nothing sent again
    assert state.call_count == 1 and create.call_count == 1


def test_robokassa_without_password3_is_refunded_by_hand(
    db: sessionmaker[Session], sent: RecordingSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROBOKASSA_PASSWORD3")
    get_settings.cache_clear()
    mismatched(db, "robokassa", PaymentStatus.SUCCEEDED)
    assert TASK_REFUND_PAYMENT not in sent.names()
    assert "Manual refund needed" in alerts(db)[0]


@respx.mock
def test_an_invoice_robokassa_does_not_know_asks_for_a_manual_refund(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    payment_id = mismatched(db, "robokassa", PaymentStatus.SUCCEEDED)
    unknown = RK_OP_STATE_XML.replace("<Code>0</Code>", "<Code>3</Code>")
    respx.get(RK_OP_STATE).respond(text=unknown)
    create = respx.post(RK_CREATE).respond(json={"success": True, "requestId": "req-1"})
    with pytest.raises(ApiRejected, match="Code 3"):
        run_task(payment_id)
    assert create.call_count == 0
    assert any(f"refund of payment {payment_id} failed" in t for t in alerts(db))
