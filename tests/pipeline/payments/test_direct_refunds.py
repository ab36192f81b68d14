"""CloudPayments, T-Bank and Robokassa give a mismatched payment's money back through their APIs
(respx): a refund of what was paid, a release of what is only held; a refusal or an API
that stays down is left to the operators; a second run sends nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.messaging.queues import TASK_REFUND_PAYMENT
from pipeline.payments.refunds import http_refund_clients, refund_mismatched
from pipeline.payments.service import apply_event
from pipeline.providers.api import http
from pipeline.providers.api.http import ApiRejected
from pipeline.providers.tbank import make_token
from pipeline.settings import get_settings
from schema import Alert, Order, Payment
from tests.pipeline.payments.conftest import RecordingSender, make_order, run

CP_REFUND = "https://cp.test/payments/refund"
CP_VOID = "https://cp.test/payments/void"
TB_CANCEL = "https://tb.test/v2/Cancel"
RK_OP_STATE = "https://xml.test/Service.asmx/OpStateExt"
RK_CREATE = "https://refund.test/RefundService/Refund/Create"
RK_OP_STATE_XML = """<?xml version="1.0" encoding="utf-8"?>
<OperationStateResponse xmlns="http://merchant.roboxchange.com/WebService/">
  <Result><Code>0</Code></Result>
  <State><Code>100</Code></State>
  <Info><OpKey>op-key-504</OpKey></Info>
</OperationStateResponse>"""
SECRETS = ("cp-secret", "pass-1", "pass-2", "rk-pass-2", "robokassa-password-3")


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "CLOUDPAYMENTS_API_SECRET": "cp-secret",
        "CLOUDPAYMENTS_PUBLIC_ID": "pk_test_1",
        "CLOUDPAYMENTS_API_BASE": "https://cp.test",
        "TBANK_TERMINALS": "T1:pass-1,T2:pass-2",
        "TBANK_API_BASE": "https://tb.test/v2",
        "ROBOKASSA_MERCHANT_LOGIN": "shop",
        "ROBOKASSA_PASSWORD2": "rk-pass-2",
        "ROBOKASSA_PASSWORD3": "robokassa-password-3",
        "ROBOKASSA_XML_API_BASE": "https://xml.test/Service.asmx",
        "ROBOKASSA_REFUND_API_BASE": "https://refund.test/RefundService",
        "TELEGRAM_BOT_TOKEN": "123:t",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def mismatched(db: sessionmaker[Session], provider: str, status: PaymentStatus, **kw: Any) -> int:
    """A payment of 1.00 RUB naming a 100.00 RUB order; its id."""
    with db() as session:
        make_order(session, method=provider)
        session.commit()
    paid = 100 if status is PaymentStatus.SUCCEEDED else 0
    event = PaymentEvent(
        provider=provider,
        provider_payment_id="504",
        order_reference="ord-1",
        amount=100,
        currency="RUB",
        status=status,
        paid_amount=paid,
        raw_reference=f"{provider}:504",
        **kw,
    )
    run(db, apply_event, event)
    with db() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert payment.mismatch is not None
        return payment.id


def refund(db: sessionmaker[Session], payment_id: int) -> str | None:
    apis = http_refund_clients(Deps.build())
    result: str | None = run(db, lambda ctx: refund_mismatched(ctx, payment_id, apis))
    return result


def statuses(db: sessionmaker[Session]) -> tuple[str, str]:
    with db() as session:
        order = session.execute(select(Order.status)).scalar_one()
        payment = session.execute(select(Payment.status)).scalar_one()
        return order, payment


def alerts(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        return list(session.execute(select(Alert.text)).scalars())


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Countdowns of the retries the task asked for (Celery would re-run it later)."""
    from celery.exceptions import Retry

    from workers.tasks.business import refund_payment

    asked: list[int] = []

    def retry(exc: Exception, countdown: int) -> Retry:
        asked.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(refund_payment, "retry", retry)
    return asked


def run_task(payment_id: int) -> str | None:
    """The Celery task body, run inline (retries raise celery's Retry)."""
    from workers.celery_app import app as worker_app
    from workers.tasks.business import refund_payment

    worker_app.reset_runtime()
    try:
        result: str | None = refund_payment(payment_id)
        return result
    finally:
        worker_app.reset_runtime()


# --- CloudPayments --------------------------------------------------------------


@respx.mock
def test_cloudpayments_refunds_a_paid_mismatch_once(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    payment_id = mismatched(db, "cloudpayments", PaymentStatus.SUCCEEDED)
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    assert "A refund was requested" in alerts(db)[0]
    route = respx.post(CP_REFUND).respond(json={"Success": True, "Message": None})
    assert refund(db, payment_id) == "succeeded"  # the Refund notification settles it
    request = route.calls.last.request
    assert json.loads(request.content) == {"TransactionId": 504, "Amount": 1.0}
    assert b'"Amount":1.00' in request.content  # the exact decimal, not a float
    expected = base64.b64encode(b"pk_test_1:cp-secret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert statuses(db) == ("created", "succeeded")
    assert refund(db, payment_id) is None  # accepted already: nothing sent again
    assert route.call_count == 1


@respx.mock
def test_cloudpayments_voids_a_mismatch_that_is_only_authorized(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    payment_id = mismatched(db, "cloudpayments", PaymentStatus.WAITING_FOR_CAPTURE)
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    assert "its release was requested" in alerts(db)[0]
    route = respx.post(CP_VOID).respond(json={"Success": True, "Message": None})
    assert refund(db, payment_id) == "canceled"
    assert json.loads(route.calls.last.request.content) == {"TransactionId": 504}
    assert statuses(db) == ("created", "canceled")
    assert refund(db, payment_id) is None
    assert route.call_count == 1


def test_cloudpayments_without_a_public_id_is_refunded_by_hand(
    db: sessionmaker[Session], sent: RecordingSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDPAYMENTS_PUBLIC_ID")
    get_settings.cache_clear()
    mismatched(db, "cloudpayments", PaymentStatus.SUCCEEDED)
    assert TASK_REFUND_PAYMENT not in sent.names()
    assert "Manual refund needed" in alerts(db)[0]


# --- T-Bank ---------------------------------------------------------------------


def _cancelled(request_body: bytes, password: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request_body)
    signed = {**body, "Amount": str(body["Amount"])}
    assert body["Token"] == make_token(signed, password)
    return body


@respx.mock
def test_tbank_refunds_a_paid_mismatch_with_its_terminals_password(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    payment_id = mismatched(db, "tbank", PaymentStatus.SUCCEEDED, refund_target="T2")
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    route = respx.post(TB_CANCEL).respond(
        json={"Success": True, "Status": "REFUNDED", "ErrorCode": "0", "PaymentId": "504"}
    )
    assert refund(db, payment_id) == "refunded"
    body = _cancelled(route.calls.last.request.content, "pass-2")
    assert {k: body[k] for k in ("TerminalKey", "PaymentId", "Amount")} == {
        "TerminalKey": "T2",
        "PaymentId": "504",
        "Amount": 100,
    }
    assert statuses(db) == ("created", "refunded")
    assert refund(db, payment_id) is None
    assert route.call_count == 1


@respx.mock
def test_tbank_reverses_a_held_mismatch(db: sessionmaker[Session], sent: RecordingSender) -> None:
    payment_id = mismatched(db, "tbank", PaymentStatus.WAITING_FOR_CAPTURE, refund_target="T1")
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    route = respx.post(TB_CANCEL).respond(
        json={"Success": True, "Status": "REVERSED", "ErrorCode": "0"}
    )
    assert refund(db, payment_id) == "canceled"
    assert _cancelled(route.calls.last.request.content, "pass-1")["Amount"] == 100
    assert statuses(db) == ("created", "canceled")
    assert refund(db, payment_id) is None
    assert route.call_count == 1


def test_a_tbank_payment_of_an_unknown_terminal_is_refunded_by_hand(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    mismatched(db, "tbank", PaymentStatus.SUCCEEDED, refund_target="T9")
    assert TASK_REFUND_PAYMENT not in sent.names()
    assert "Manual refund needed" in alerts(db)[0]


# --- Both: refusals and outages -------------------------------------------------

CASES = {
    "cloudpayments": (CP_REFUND, {}),
    "tbank": (TB_CANCEL, {"refund_target": "T1"}),
    "robokassa": (RK_CREATE, {}),
}
REFUSALS = {
    "cloudpayments": ({"Success": False, "Message": "Refund not allowed"}, "Refund not allowed"),
    "tbank": ({"Success": False, "ErrorCode": "9999", "Message": "No"}, "ErrorCode 9999"),
    "robokassa": ({"success": False, "message": "Refund sum too big"}, "Refund sum too big"),
}


def needs_op_key(provider: str) -> None:
    """Robokassa's refund names an OpKey asked for first."""
    if provider == "robokassa":
        respx.get(RK_OP_STATE).respond(text=RK_OP_STATE_XML)


@respx.mock
@pytest.mark.parametrize("provider", sorted(CASES))
def test_a_refund_the_provider_refuses_asks_for_a_manual_refund(
    db: sessionmaker[Session], sent: RecordingSender, provider: str
) -> None:
    url, kw = CASES[provider]
    answer, reason = REFUSALS[provider]
    payment_id = mismatched(db, provider, PaymentStatus.SUCCEEDED, **kw)
    needs_op_key(provider)
    respx.post(url).respond(json=answer)
    with pytest.raises(ApiRejected, match=reason):
        run_task(payment_id)
    assert statuses(db) == ("created", "succeeded")
    failed = [t for t in alerts(db) if f"refund of payment {payment_id} failed" in t]
    assert len(failed) == 1 and reason in failed[0] and "by hand" in failed[0]
    assert not any(secret in failed[0] for secret in SECRETS)


@respx.mock
@pytest.mark.parametrize("provider", sorted(CASES))
def test_a_provider_that_stays_down_is_retried_then_left_to_the_operators(
    db: sessionmaker[Session], sent: RecordingSender, retries: list[int], provider: str
) -> None:
    from celery.exceptions import Retry

    from workers.tasks.business import refund_payment

    url, kw = CASES[provider]
    payment_id = mismatched(db, provider, PaymentStatus.SUCCEEDED, **kw)
    needs_op_key(provider)
    route = respx.post(url).respond(503)
    with pytest.raises(Retry):
        run_task(payment_id)
    assert route.call_count == http.ATTEMPTS  # every attempt of the one call
    assert retries == [5]
    assert not any("failed" in t for t in alerts(db))
    # The last of the task's retries gives up and tells the operators.
    refund_payment.push_request(retries=refund_payment.max_retries)
    try:
        assert run_task(payment_id) is None
    finally:
        refund_payment.pop_request()
    assert statuses(db) == ("created", "succeeded")
    failed = [t for t in alerts(db) if f"refund of payment {payment_id} failed" in t]
    assert len(failed) == 1 and "HTTP 503" in failed[0] and "by hand" in failed[0]
    assert not any(secret in failed[0] for secret in SECRETS)


@respx.mock
def test_a_mismatch_seen_at_the_check_is_released_once_it_is_held(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    """CloudPayments' Check records the mismatch before any money; the Pay that follows
    (Authorized, two-stage) is what asks for the release."""
    payment_id = mismatched(db, "cloudpayments", PaymentStatus.PENDING)
    assert TASK_REFUND_PAYMENT not in sent.names()
    held = PaymentEvent(
        provider="cloudpayments",
        provider_payment_id="504",
        order_reference="ord-1",
        amount=100,
        currency="RUB",
        status=PaymentStatus.WAITING_FOR_CAPTURE,
        paid_amount=0,
        raw_reference="cloudpayments:pay:504",
    )
    run(db, apply_event, held)
    assert sent.names().count(TASK_REFUND_PAYMENT) == 1
    assert any("its release was requested" in t for t in alerts(db))
    respx.post(CP_VOID).respond(json={"Success": True})
    assert refund(db, payment_id) == "canceled"


@respx.mock
def test_the_refund_task_needs_no_bot_token_for_a_cloudpayments_payment(
    db: sessionmaker[Session], sent: RecordingSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a Stars refund needs the bot: a shop without a token still refunds the rest."""
    payment_id = mismatched(db, "cloudpayments", PaymentStatus.SUCCEEDED)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    get_settings.cache_clear()
    route = respx.post(CP_REFUND).respond(json={"Success": True, "Message": None})
    assert run_task(payment_id) == "succeeded"
    assert route.call_count == 1
