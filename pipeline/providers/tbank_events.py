"""T-Bank notifications -> normalized payment and receipt events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import (
    FiscalAttributes,
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)

PROVIDER = "tbank"
# Acquiring terminals settle in roubles; notifications carry no currency.
CURRENCY = "RUB"

_STATUSES: dict[str, PaymentStatus] = {
    "NEW": PaymentStatus.PENDING,
    "FORM_SHOWED": PaymentStatus.PENDING,
    "AUTHORIZING": PaymentStatus.PENDING,
    "3DS_CHECKING": PaymentStatus.PENDING,
    "3DS_CHECKED": PaymentStatus.PENDING,
    "AUTHORIZED": PaymentStatus.WAITING_FOR_CAPTURE,
    "CONFIRMING": PaymentStatus.WAITING_FOR_CAPTURE,
    "REVERSING": PaymentStatus.WAITING_FOR_CAPTURE,
    "PARTIAL_REVERSED": PaymentStatus.WAITING_FOR_CAPTURE,
    "CONFIRMED": PaymentStatus.SUCCEEDED,
    "REFUNDING": PaymentStatus.SUCCEEDED,
    "PARTIAL_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "REVERSED": PaymentStatus.CANCELED,
    "CANCELED": PaymentStatus.CANCELED,
    "DEADLINE_EXPIRED": PaymentStatus.CANCELED,
    "REJECTED": PaymentStatus.FAILED,
    "AUTH_FAIL": PaymentStatus.FAILED,
}
# The receiver types notifications `payment.<Status>` and `receipt`.
EVENT_TYPES = (*(f"payment.{status}" for status in _STATUSES), "receipt")


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _amount(fields: Mapping[str, Any]) -> int | None:
    value = fields.get("Amount")
    if value is None:
        return None
    return integer_minor_units(value, "Amount (kopecks)")


def _succeeded(fields: Mapping[str, Any]) -> bool:
    return fields.get("Success") is True and str(fields.get("ErrorCode", "0")) == "0"


def normalize_payment(fields: Mapping[str, Any], ref: str) -> PaymentEvent | None:
    status = str(fields.get("Status", "")).upper()
    normalized = _STATUSES.get(status)
    if normalized is None:
        return None
    if not _succeeded(fields) and normalized is not PaymentStatus.CANCELED:
        normalized = PaymentStatus.FAILED
    amount = _amount(fields)
    return PaymentEvent(
        provider=PROVIDER,
        provider_payment_id=_text(fields, "PaymentId") or "",
        order_reference=_text(fields, "OrderId"),
        amount=amount,
        currency=CURRENCY,
        status=normalized,
        paid_amount=amount if normalized is PaymentStatus.SUCCEEDED else None,
        raw_reference=ref,
        # A refund (Cancel) is signed with this terminal's password.
        refund_target=_text(fields, "TerminalKey"),
    )


def normalize_receipt(fields: Mapping[str, Any], ref: str) -> ReceiptEvent:
    payment_id = _text(fields, "PaymentId") or ""
    document = _text(fields, "FiscalDocumentNumber")
    ok = _succeeded(fields)
    fiscal = FiscalAttributes(
        fn_number=_text(fields, "FnNumber"),
        fiscal_document_number=document,
        fiscal_document_attribute=_text(fields, "FiscalDocumentAttribute"),
        fiscal_receipt_number=_text(fields, "FiscalNumber"),
        shift_number=_text(fields, "ShiftNumber"),
        registration_number=_text(fields, "EcrRegNumber"),
        receipt_datetime=_text(fields, "ReceiptDatetime"),
        total=_amount(fields),
    )
    return ReceiptEvent(
        provider=PROVIDER,
        receipt_id=":".join(filter(None, [payment_id, _text(fields, "Type"), document])),
        order_reference=_text(fields, "OrderId"),
        payment_reference=payment_id or None,
        status=ReceiptStatus.DONE if ok else ReceiptStatus.FAIL,
        fiscal=fiscal if ok else None,
        ofd_receipt_url=_text(fields, "Url"),
        error=None if ok else (_text(fields, "Message") or _text(fields, "ErrorMessage")),
        raw_reference=ref,
    )


def normalize(event_type: str, fields: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    if event_type == "receipt":
        return [normalize_receipt(fields, ref)]
    payment = normalize_payment(fields, ref)
    return [payment] if payment is not None else []
