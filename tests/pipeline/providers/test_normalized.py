"""Normalization: integer minor units, provider statuses mapped, fields where they belong."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from pipeline.domain.money import minor_units
from pipeline.domain.normalized import (
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.events.errors import PermanentError
from pipeline.providers import (
    atol,
    cloudpayments,
    orangedata,
    robokassa,
    stripe,
    tbank,
    telegram,
    yookassa,
)
from tests.pipeline.providers.cases import fixture, fixture_json
from tests.support.signing import stripe_event

FAILED, HELD = PaymentStatus.FAILED, PaymentStatus.WAITING_FOR_CAPTURE


@pytest.mark.parametrize(
    ("value", "currency", "units"),
    [
        ("100.00", "RUB", 10000),
        ("100.000000", "RUB", 10000),
        (100.5, "RUB", 10050),
        (0.1, "USD", 10),
        (Decimal("2.5"), "EUR", 250),
        (50, "XTR", 50),
        ("1000", "JPY", 1000),
        ("1.234", "KWD", 1234),
    ],
)
def test_minor_units(value: object, currency: str, units: int) -> None:
    assert minor_units(value, currency) == units


@pytest.mark.parametrize(
    "value", ["1.001", "abc", "NaN", "Infinity", True, None, [1], "1e30", "1.5 "]
)
def test_minor_units_refuses(value: object) -> None:
    if value == "1.5 ":
        assert minor_units(value, "RUB") == 150  # surrounding space is not a mistake
        return
    with pytest.raises(ValueError):
        minor_units(value, "RUB")


def test_events_refuse_floats_and_negatives() -> None:
    with pytest.raises(ValueError):
        PaymentEvent(
            provider="x",
            provider_payment_id="1",
            order_reference=None,
            amount=1.5,  # type: ignore[arg-type]
            currency="RUB",
            status=PaymentStatus.PENDING,
        )
    with pytest.raises(ValueError):
        PaymentEvent(
            provider="x",
            provider_payment_id="1",
            order_reference=None,
            amount=-1,
            currency="rub",
            status=PaymentStatus.PENDING,
        )


def _form(name: str) -> dict[str, str]:
    return dict(parse_qsl(fixture("cloudpayments", name).decode(), keep_blank_values=True))


@pytest.mark.parametrize(
    ("kind", "file", "status", "payment_id", "amounts"),
    [
        ("check", "check.txt", PaymentStatus.PENDING, "504", (10000, None, None)),
        ("pay", "pay.txt", PaymentStatus.SUCCEEDED, "504", (10000, 10000, None)),
        ("pay", "pay_authorized.txt", PaymentStatus.WAITING_FOR_CAPTURE, "504", (10000, 0, None)),
        ("fail", "fail.txt", PaymentStatus.FAILED, "506", (10000, None, None)),
        ("confirm", "confirm.txt", PaymentStatus.SUCCEEDED, "504", (10000, 10000, None)),
        ("cancel", "cancel.txt", PaymentStatus.CANCELED, "504", (10000, None, None)),
        ("refund", "refund.txt", PaymentStatus.REFUNDED, "504", (None, None, 4000)),
    ],
)
def test_cloudpayments_payment_kinds(
    kind: str,
    file: str,
    status: PaymentStatus,
    payment_id: str,
    amounts: tuple[int | None, int | None, int | None],
) -> None:
    [event] = cloudpayments.normalize(kind, _form(file), "cloudpayments", "ref", "RUB")
    assert isinstance(event, PaymentEvent)
    assert (event.status, event.provider_payment_id, event.currency) == (status, payment_id, "RUB")
    assert (event.amount, event.paid_amount, event.refund_amount) == amounts


def test_cloudpayments_recurrent_is_not_a_payment() -> None:
    assert cloudpayments.normalize("recurrent", _form("recurrent.txt"), "cp", "r", "RUB") == []


def test_cloudpayments_receipt() -> None:
    [event] = cloudpayments.normalize("receipt", _form("receipt.txt"), "cp", "r", "RUB")
    assert isinstance(event, ReceiptEvent)
    assert event.fiscal is not None
    assert event.fiscal.total == 10000
    assert event.fiscal.fn_number == "9999078900012345"
    assert event.fiscal.fiscal_document_attribute == "2790451328"


def test_cloudpayments_json_amounts_are_exact() -> None:
    fields = json.loads(fixture("cloudpayments", "pay.json"))
    [event] = cloudpayments.normalize("pay", fields, "cloudpayments", "r", "RUB")
    assert isinstance(event, PaymentEvent) and event.amount == 25050


@pytest.mark.parametrize(
    ("file", "status", "paid"),
    [
        ("payment_confirmed.json", PaymentStatus.SUCCEEDED, 9855),
        ("payment_authorized.json", PaymentStatus.WAITING_FOR_CAPTURE, None),
        ("payment_rejected.json", PaymentStatus.FAILED, None),
    ],
)
def test_tbank_payments(file: str, status: PaymentStatus, paid: int | None) -> None:
    fields = fixture_json("tbank", file)
    [event] = tbank.normalize(f"payment.{fields['Status']}", fields, "ref")
    assert isinstance(event, PaymentEvent)
    assert (event.status, event.amount, event.paid_amount) == (status, 9855, paid)


def test_tbank_receipt() -> None:
    [event] = tbank.normalize("receipt", fixture_json("tbank", "receipt.json"), "ref")
    assert isinstance(event, ReceiptEvent)
    assert event.status is ReceiptStatus.DONE
    assert event.fiscal is not None
    assert (event.fiscal.fiscal_document_number, event.fiscal.total) == ("1234", 9855)
    assert event.payment_reference == "8742591"


def test_tbank_failed_receipt() -> None:
    fields = fixture_json("tbank", "receipt.json") | {"Success": False, "ErrorCode": "9999"}
    fields["ErrorMessage"] = "ФН переполнен"
    [event] = tbank.normalize("receipt", fields, "ref")
    assert isinstance(event, ReceiptEvent)
    assert (event.status, event.error) == (ReceiptStatus.FAIL, "ФН переполнен")


def test_robokassa_amount_from_out_sum() -> None:
    fields = dict(parse_qsl(fixture("robokassa", "result.txt").decode()))
    event = robokassa.normalize(fields, "ref")
    assert (event.amount, event.paid_amount, event.currency) == (10000, 10000, "RUB")
    assert not event.test
    assert robokassa.normalize(fields | {"IsTest": "1"}, "ref").test


def test_yookassa_refunded_in_full() -> None:
    payment = fixture_json("yookassa", "api_payment_succeeded.json")
    payment["refunded_amount"] = {"value": "2.00", "currency": "RUB"}
    event = yookassa.normalize_payment(payment, "ref")
    assert (event.status, event.refunded_amount) == (PaymentStatus.REFUNDED, 200)


def test_yookassa_rejects_what_is_not_a_payment() -> None:
    with pytest.raises(PermanentError):
        yookassa.normalize_payment({"id": "x", "status": "weird"}, "ref")


def test_atol_done_report() -> None:
    event = atol.normalize_report(fixture_json("atol", "callback_done.json"), "ref")
    assert event.status is ReceiptStatus.DONE
    assert event.fiscal is not None
    assert event.fiscal.registration_number == "0000000001012345"
    assert event.fiscal.receipt_datetime == "01.03.2024 10:00:05"


def test_orangedata_other_document_is_refused() -> None:
    document = fixture_json("orangedata", "callback.json")
    with pytest.raises(PermanentError):
        orangedata.normalize_document(document, "another-id", "ref")


@pytest.mark.parametrize(
    ("file", "event_type", "status", "payment_id", "amount", "currency"),
    [
        (
            "pre_checkout_query.json",
            "pre_checkout_query",
            PaymentStatus.PENDING,
            "4382255738239087234",
            50,
            "XTR",
        ),
        (
            "successful_payment.json",
            "message.successful_payment",
            PaymentStatus.SUCCEEDED,
            "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            50,
            "XTR",
        ),
        (
            "refunded_payment.json",
            "message.refunded_payment",
            PaymentStatus.REFUNDED,
            "stxAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            50,
            "XTR",
        ),
        (
            "successful_payment_rub.json",
            "message.successful_payment",
            PaymentStatus.SUCCEEDED,
            "7345921648_1234_567890",
            15000,
            "RUB",
        ),
    ],
)
def test_telegram_payments(
    file: str,
    event_type: str,
    status: PaymentStatus,
    payment_id: str,
    amount: int,
    currency: str,
) -> None:
    [event] = telegram.normalize(event_type, fixture_json("telegram", file), "ref")
    assert isinstance(event, PaymentEvent)
    assert (event.status, event.provider_payment_id) == (status, payment_id)
    assert (event.amount, event.currency, event.order_reference) == (
        amount,
        currency,
        event.order_reference,
    )


def test_telegram_plain_message_is_not_a_payment() -> None:
    assert telegram.normalize("message", {"message": {"text": "hi"}}, "ref") == []


@pytest.mark.parametrize(
    ("event_type", "changes", "status"),
    [
        ("payment_intent.succeeded", {}, PaymentStatus.SUCCEEDED),
        (
            "payment_intent.payment_failed",
            {"status": "requires_payment_method"},
            PaymentStatus.FAILED,
        ),
        (
            "payment_intent.amount_capturable_updated",
            {"status": "requires_capture"},
            PaymentStatus.WAITING_FOR_CAPTURE,
        ),
        ("payment_intent.canceled", {"status": "canceled"}, PaymentStatus.CANCELED),
    ],
)
def test_stripe_payment_intents(
    event_type: str, changes: dict[str, str], status: PaymentStatus
) -> None:
    event = json.loads(stripe_event("evt_1", event_type))
    event["data"]["object"].update(changes)
    [normalized] = stripe.normalize(event_type, event, "ref")
    assert isinstance(normalized, PaymentEvent)
    assert (normalized.status, normalized.amount, normalized.currency) == (status, 2000, "USD")


def test_stripe_partially_refunded_charge() -> None:
    event = json.loads(stripe_event("evt_2", "charge.refunded"))
    event["data"]["object"] = {
        "id": "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "object": "charge",
        "amount": 1099,
        "amount_captured": 1099,
        "amount_refunded": 500,
        "currency": "usd",
        "paid": True,
        "status": "succeeded",
        "metadata": {"order_id": "7"},
    }
    [normalized] = stripe.normalize("charge.refunded", event, "ref")
    assert isinstance(normalized, PaymentEvent)
    assert normalized.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (normalized.refunded_amount, normalized.order_reference) == (500, "7")
