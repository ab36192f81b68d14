"""CloudPayments / CloudKassir notifications -> normalized payment and receipt events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.domain.money import minor_units
from pipeline.domain.normalized import (
    FiscalAttributes,
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.events.errors import PermanentError

AUTHORIZED = "Authorized"
PAYMENT_KINDS = frozenset({"check", "pay", "fail", "confirm", "refund", "cancel"})
# Event types are the notification kinds (the path segment after the provider).
EVENT_TYPES = (*sorted(PAYMENT_KINDS), "receipt")
RECEIPT_EVENT_TYPES = ("receipt",)


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _required(fields: Mapping[str, Any], name: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise PermanentError(f"notification has no {name}")
    return value


def _is_test(fields: Mapping[str, Any]) -> bool:
    return str(fields.get("TestMode", "0")).lower() in {"1", "true"}


def _units(fields: Mapping[str, Any], currency: str) -> int:
    try:
        return minor_units(_required(fields, "Amount"), currency)
    except ValueError as exc:
        raise PermanentError(f"Amount: {exc}") from None


def normalize_payment(
    kind: str, fields: Mapping[str, Any], provider: str, ref: str, default_currency: str
) -> PaymentEvent | None:
    """check, pay, fail, confirm, refund, cancel -> PaymentEvent; other kinds -> None."""
    if kind not in PAYMENT_KINDS:
        return None  # recurrent: a subscription's state, not a payment
    currency = (_text(fields, "Currency") or default_currency).upper()
    amount = _units(fields, currency) if kind in {"check", "pay", "fail", "confirm"} else None
    common: dict[str, Any] = {
        "provider": provider,
        "order_reference": _text(fields, "InvoiceId"),
        "currency": currency,
        "raw_reference": ref,
        "test": _is_test(fields),
    }
    transaction = _required(fields, "TransactionId")
    if kind == "check":
        return PaymentEvent(
            provider_payment_id=transaction, amount=amount, status=PaymentStatus.PENDING, **common
        )
    if kind in {"pay", "confirm"}:
        held = kind == "pay" and _text(fields, "Status") == AUTHORIZED
        status = PaymentStatus.WAITING_FOR_CAPTURE if held else PaymentStatus.SUCCEEDED
        paid = 0 if held else amount
        return PaymentEvent(
            provider_payment_id=transaction,
            amount=amount,
            status=status,
            paid_amount=paid,
            **common,
        )
    if kind == "fail":
        return PaymentEvent(
            provider_payment_id=transaction, amount=amount, status=PaymentStatus.FAILED, **common
        )
    if kind == "cancel":
        voided = _units(fields, currency) if _text(fields, "Amount") else None
        return PaymentEvent(
            provider_payment_id=transaction, amount=voided, status=PaymentStatus.CANCELED, **common
        )
    # A Refund states this refund's amount, not the payment's totals.
    return PaymentEvent(
        provider_payment_id=_required(fields, "PaymentTransactionId"),
        amount=None,
        status=PaymentStatus.REFUNDED,
        refund_amount=_units(fields, currency),
        **common,
    )


def normalize_receipt(fields: Mapping[str, Any], provider: str, ref: str) -> ReceiptEvent:
    """A Receipt notification (a registered receipt) -> ReceiptEvent (done)."""
    fiscal = FiscalAttributes(
        fn_number=_text(fields, "FiscalNumber"),
        fiscal_document_number=_text(fields, "DocumentNumber"),
        fiscal_document_attribute=_text(fields, "FiscalSign"),
        fiscal_receipt_number=_text(fields, "Number"),
        shift_number=_text(fields, "SessionNumber"),
        registration_number=_text(fields, "RegNumber"),
        receipt_datetime=_text(fields, "DateTime"),
        total=_units(fields, "RUB") if _text(fields, "Amount") else None,
    )
    return ReceiptEvent(
        provider=provider,
        receipt_id=_required(fields, "Id"),
        order_reference=_text(fields, "InvoiceId"),
        payment_reference=_text(fields, "TransactionId"),
        status=ReceiptStatus.DONE,
        fiscal=fiscal,
        ofd_receipt_url=_text(fields, "Url"),
        raw_reference=ref,
    )


def normalize(
    kind: str, fields: Mapping[str, Any], provider: str, ref: str, default_currency: str
) -> list[NormalizedEvent]:
    if kind == "receipt":
        return [normalize_receipt(fields, provider, ref)]
    payment = normalize_payment(kind, fields, provider, ref, default_currency)
    return [payment] if payment is not None else []
