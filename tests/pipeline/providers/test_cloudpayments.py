"""CloudPayments and CloudKassir: every notification kind, both signature headers, both
body formats, rotation, and the documented Check codes."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote_to_bytes

import pytest

from pipeline.payments import snapshots
from pipeline.settings import get_settings
from tests.pipeline.providers.cases import (
    CloudKassirCase,
    CloudPaymentsCase,
    Request,
    cp_sign,
    fixture,
)
from tests.pipeline.providers.conftest import Send, drain, enqueued, running_receiver
from tests.support.redis_clients import env_redis

KINDS = {
    "check": ("check.txt", "check:504"),
    "pay": ("pay.txt", "pay:504"),
    "fail": ("fail.txt", "fail:506"),
    "confirm": ("confirm.txt", "confirm:504"),
    "refund": ("refund.txt", "refund:505"),
    "cancel": ("cancel.txt", "cancel:504"),
    "recurrent": ("recurrent.txt", "recurrent:sc_8cf8a9338fb8ebf7202b08d09c938:Active:1:0"),
    "receipt": ("receipt.txt", "receipt:7f15d5b7-2a0a-4f0e-b8d4-4a8d31c0b1a1"),
}


def publish_order(
    status: str = "pending",
    amount: int = 10000,
    currency: str = "RUB",
    method: str = "cloudpayments",
    age_s: float = 0,
) -> None:
    """The snapshot the worker publishes for order 1234567 (the fixtures' InvoiceId)."""
    snap = snapshots.OrderSnapshot(amount, currency, status, method, time.time() - age_s)
    snapshots.publish(env_redis(), {"1234567": snap})


@pytest.fixture
def order_1234567(broker: str) -> None:
    publish_order()


@pytest.mark.usefixtures("order_1234567")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_answered_code_0(kind: str, receiver: Send, broker: str) -> None:
    body, key = KINDS[kind]
    response = receiver(CloudPaymentsCase(kind, body).valid())
    assert (response.status_code, response.json()) == (200, {"code": 0})
    [envelope] = drain(broker)
    assert (envelope.event_type, envelope.external_id) == (kind, key)


def _x_content_hmac_only() -> Request:
    body = fixture("cloudpayments", "pay.txt")
    decoded = unquote_to_bytes(body.replace(b"+", b" "))
    return (
        CloudPaymentsCase()
        .valid()
        .with_headers(Content_HMAC=None, X_Content_HMAC=cp_sign("cp-secret-old", decoded))
    )


def test_x_content_hmac_alone_is_refused_by_default(receiver: Send, broker: str) -> None:
    response = receiver(_x_content_hmac_only())
    assert response.status_code == 401
    assert "Content-HMAC is required" in response.json()["detail"]
    assert enqueued(broker) == 0


def test_x_content_hmac_over_the_url_decoded_body_when_allowed(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDPAYMENTS_ALLOW_X_CONTENT_HMAC_ONLY", "true")
    with running_receiver(broker) as (_, send):
        assert send(_x_content_hmac_only()).json() == {"code": 0}
    assert enqueued(broker) == 1


def test_content_hmac_decides_when_present(broker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A wrong Content-HMAC is not rescued by a right X-Content-HMAC, even when allowed.
    monkeypatch.setenv("CLOUDPAYMENTS_ALLOW_X_CONTENT_HMAC_ONLY", "true")
    request = _x_content_hmac_only().with_headers(Content_HMAC=cp_sign("cp-secret-old", b"x"))
    with running_receiver(broker) as (_, send):
        assert send(request).status_code == 401
    assert enqueued(broker) == 0


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("fail.txt", "pay"),  # a signed decline replayed as a payment
        ("fail.txt", "confirm"),
        ("pay_authorized.txt", "confirm"),  # a hold is not a capture
        ("pay.txt", "fail"),
        ("pay.txt", "refund"),
        ("pay.txt", "cancel"),
        ("check.txt", "cancel"),
        ("check.txt", "pay"),
        ("refund.txt", "pay"),
        ("cancel.txt", "refund"),
    ],
)
def test_a_signed_body_of_one_kind_is_refused_at_another(
    body: str, kind: str, receiver: Send, broker: str
) -> None:
    response = receiver(CloudPaymentsCase(kind, body).valid())
    assert response.status_code == 400, response.text
    assert response.json()["code"] == 13
    assert f"not a {kind} notification" in response.json()["detail"]
    assert enqueued(broker) == 0


def test_an_authorized_pay_is_a_pay(receiver: Send, broker: str) -> None:
    assert receiver(CloudPaymentsCase("pay", "pay_authorized.txt").valid()).json() == {"code": 0}
    assert enqueued(broker) == 1


def test_json_notifications(receiver: Send, broker: str) -> None:
    response = receiver(CloudPaymentsCase("pay", "pay.json").valid())
    assert response.json() == {"code": 0}
    [envelope] = drain(broker)
    assert envelope.external_id == "pay:507"


def test_previous_secret_still_accepted_while_rotating(receiver: Send) -> None:
    case = CloudPaymentsCase()
    assert receiver(case.signed(fixture("cloudpayments", "pay.txt"), "cp-secret-old")).json() == {
        "code": 0
    }


def test_bad_signature_answers_code_13_and_enqueues_nothing(receiver: Send, broker: str) -> None:
    response = receiver(CloudPaymentsCase("check", "check.txt").wrong_secret())
    assert response.status_code == 401
    assert response.json()["code"] == 13
    assert enqueued(broker) == 0


@pytest.mark.parametrize("path", ["/webhooks/cloudpayments", "/webhooks/cloudpayments/refunds"])
def test_unknown_kind_is_a_404(path: str, receiver: Send, broker: str) -> None:
    response = receiver(CloudPaymentsCase(path=path).valid())
    assert response.status_code == 404
    assert "kind" in response.json()["detail"]
    assert enqueued(broker) == 0


@pytest.mark.parametrize(
    ("env", "replace", "code"),
    [
        ({}, (b"Amount=100.00", b"Amount=0.00"), 12),
        ({}, (b"Amount=100.00", b"Amount=abc"), 12),
        ({"CLOUDPAYMENTS_REQUIRE_INVOICE_ID": "true"}, (b"InvoiceId=1234567", b"InvoiceId="), 10),
        ({"CLOUDPAYMENTS_REQUIRE_ACCOUNT_ID": "true"}, (b"AccountId=user_x", b"AccountId="), 11),
        ({"CLOUDPAYMENTS_CURRENCIES": "USD,EUR"}, (b"", b""), 13),
    ],
)
def test_check_declined_with_documented_codes(
    env: dict[str, str],
    replace: tuple[bytes, bytes],
    code: int,
    broker: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    case = CloudPaymentsCase("check", "check.txt")
    body = fixture("cloudpayments", "check.txt").replace(*replace)
    with running_receiver(broker) as (_, send):
        response = send(case.signed(body))
    assert response.status_code == 200  # an answer to the question, not an error
    assert response.json()["code"] == code
    assert enqueued(broker) == 0


@pytest.mark.usefixtures("order_1234567")
def test_check_with_required_fields_present_is_accepted(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDPAYMENTS_REQUIRE_INVOICE_ID", "true")
    monkeypatch.setenv("CLOUDPAYMENTS_REQUIRE_ACCOUNT_ID", "true")
    monkeypatch.setenv("CLOUDPAYMENTS_CURRENCIES", "RUB")
    with running_receiver(broker) as (_, send):
        response = send(CloudPaymentsCase("check", "check.txt").valid())
    assert response.json() == {"code": 0}


@pytest.mark.parametrize(
    ("order", "env", "replace", "code"),
    [
        (None, {}, (b"", b""), 10),
        ({}, {}, (b"Amount=100.00", b"Amount=99.99"), 12),
        ({}, {}, (b"Amount=100.00", b"Amount=0.01"), 12),
        ({}, {}, (b"Currency=RUB", b"Currency=USD"), 12),
        ({"status": "paid"}, {}, (b"", b""), 13),
        ({"method": "yookassa"}, {}, (b"", b""), 13),
        ({"age_s": 7200}, {"ORDER_PAY_WITHIN_H": "1"}, (b"", b""), 20),
        ({}, {}, (b"TestMode=0", b"TestMode=1"), 13),
        ({}, {"ALLOW_TEST_PAYMENTS": "true"}, (b"TestMode=0", b"TestMode=1"), 0),
        ({}, {}, (b"", b""), 0),
        ({}, {}, (b"Amount=100.00", b"Amount=150.00"), 0),  # an overpayment settles
        ({"method": "any", "status": "failed"}, {}, (b"", b""), 0),  # a retry after a decline
    ],
)
def test_check_answers_from_the_order(
    order: dict[str, object] | None,
    env: dict[str, str],
    replace: tuple[bytes, bytes],
    code: int,
    broker: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    if order is not None:
        publish_order(**order)  # type: ignore[arg-type]
    body = fixture("cloudpayments", "check.txt").replace(*replace)
    with running_receiver(broker) as (_, send):
        response = send(CloudPaymentsCase("check", "check.txt").signed(body))
    assert (response.status_code, response.json()["code"]) == (200, code)
    assert enqueued(broker) == (1 if code == 0 else 0)


def test_check_declines_when_orders_cannot_be_looked_up(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    get_settings.cache_clear()
    with running_receiver(broker) as (_, send):
        response = send(CloudPaymentsCase("check", "check.txt").valid())
    assert (response.status_code, response.json()["code"]) == (200, 13)


def test_cloudkassir_receipt_at_its_own_route(receiver: Send, broker: str) -> None:
    assert receiver(CloudKassirCase().valid()).json() == {"code": 0}
    [envelope] = drain(broker)
    assert envelope.provider == "cloudkassir"
    assert envelope.external_id == "receipt:7f15d5b7-2a0a-4f0e-b8d4-4a8d31c0b1a1"


def test_cloudkassir_does_not_take_the_cloudpayments_secret(receiver: Send) -> None:
    request = CloudKassirCase().signed(fixture("cloudkassir", "receipt.txt"), "cp-secret-new")
    response = receiver(request)
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == 13
