"""Stripe payment events -> normalized payment events.

Stripe amounts are integers in the currency's smallest unit already. The order
reference is `metadata.order_id`, or a Checkout Session's `client_reference_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError

PROVIDER = "stripe"
# The event types this module turns into payment events (routing is tested against them).
EVENT_TYPES = (
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.succeeded",
    "charge.captured",
    "charge.failed",
    "charge.refunded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)

_INTENT_STATUSES = {
    "requires_payment_method": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.PENDING,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.WAITING_FOR_CAPTURE,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}


def _int(obj: Mapping[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    return integer_minor_units(value, f"Stripe {name}")


def _order(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    order = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    order = order or obj.get("client_reference_id")
    return str(order) if order else None


def _event(obj: Mapping[str, Any], status: PaymentStatus, ref: str, **amounts: Any) -> PaymentEvent:
    currency = obj.get("currency")
    if not isinstance(currency, str):
        raise PermanentError("Stripe object has no currency")
    return PaymentEvent(
        provider=PROVIDER,
        provider_payment_id=str(obj["id"]),
        order_reference=_order(obj),
        currency=currency.upper(),
        status=status,
        raw_reference=ref,
        **amounts,
    )


def normalize(event_type: str, event: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
        raise PermanentError("Stripe event has no data.object with an id")
    test = event.get("livemode") is False
    kind = obj.get("object")
    found: PaymentEvent | None = None
    if kind == "payment_intent":
        status = _INTENT_STATUSES.get(str(obj.get("status")), PaymentStatus.PENDING)
        if event_type == "payment_intent.payment_failed":
            status = PaymentStatus.FAILED
        received = _int(obj, "amount_received")
        found = _event(obj, status, ref, amount=_int(obj, "amount"), paid_amount=received)
    elif kind == "charge":
        amount, refunded = _int(obj, "amount"), _int(obj, "amount_refunded") or 0
        status = PaymentStatus.SUCCEEDED if obj.get("paid") else PaymentStatus.PENDING
        if obj.get("status") == "failed":
            status = PaymentStatus.FAILED
        elif refunded:
            full = amount is not None and refunded >= amount
            status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        captured = _int(obj, "amount_captured")
        found = _event(
            obj, status, ref, amount=amount, paid_amount=captured, refunded_amount=refunded
        )
    elif kind == "checkout.session":
        paid = obj.get("payment_status") in {"paid", "no_payment_required"}
        status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING
        if obj.get("status") == "expired":
            status = PaymentStatus.CANCELED
        total = _int(obj, "amount_total")
        intent = obj.get("payment_intent")
        found = _event(
            obj,
            status,
            ref,
            amount=total,
            paid_amount=total if paid else 0,
            refund_target=intent if isinstance(intent, str) and intent else None,
        )
    if found is None:
        return []
    return [replace(found, test=test)]
