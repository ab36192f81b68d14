"""Telegram payment updates -> normalized payment events.

Amounts in Telegram are already integers in the currency's smallest unit (whole Stars
for XTR). The payment's own key is `telegram_payment_charge_id`: the webhook is stored
once per `update_id`, the payment once per charge id in the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError

PROVIDER = "telegram"
EVENT_TYPES = ("pre_checkout_query", "message.successful_payment", "message.refunded_payment")


def _amount(payment: Mapping[str, Any]) -> tuple[int, str]:
    total, currency = payment.get("total_amount"), payment.get("currency")
    total = integer_minor_units(total, "Telegram total_amount")
    if not isinstance(currency, str) or len(currency) != 3:
        raise PermanentError("Telegram currency must be a three-letter code")
    return total, currency.upper()


def _charge_id(payment: Mapping[str, Any]) -> str:
    charge = payment.get("telegram_payment_charge_id")
    if not isinstance(charge, str) or not charge:
        raise PermanentError("Telegram payment has no telegram_payment_charge_id")
    return charge


def _order(payment: Mapping[str, Any]) -> str | None:
    payload = payment.get("invoice_payload")
    return payload if isinstance(payload, str) and payload else None


def normalize(event_type: str, update: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    """pre_checkout_query, successful_payment, refunded_payment -> PaymentEvent."""
    if event_type == "pre_checkout_query":
        query = update.get("pre_checkout_query")
        if not isinstance(query, Mapping) or not isinstance(query.get("id"), str):
            raise PermanentError("pre_checkout_query has no id")
        amount, currency = _amount(query)
        return [
            PaymentEvent(
                provider=PROVIDER,
                provider_payment_id=query["id"],
                order_reference=_order(query),
                amount=amount,
                currency=currency,
                status=PaymentStatus.PENDING,
                raw_reference=ref,
            )
        ]
    message = update.get("message")
    if not isinstance(message, Mapping):
        return []
    if event_type == "message.successful_payment":
        payment = message.get("successful_payment")
        status = PaymentStatus.SUCCEEDED
    elif event_type == "message.refunded_payment":
        payment = message.get("refunded_payment")
        status = PaymentStatus.REFUNDED
    else:
        return []
    if not isinstance(payment, Mapping):
        raise PermanentError(f"{event_type} has no payment object")
    amount, currency = _amount(payment)
    refunded = status is PaymentStatus.REFUNDED
    sender = message.get("from")
    payer = sender.get("id") if isinstance(sender, Mapping) else None
    return [
        PaymentEvent(
            provider=PROVIDER,
            provider_payment_id=_charge_id(payment),
            order_reference=_order(payment),
            amount=amount,
            currency=currency,
            status=status,
            paid_amount=amount,
            refunded_amount=amount if refunded else 0,
            raw_reference=ref,
            payer_id=payer if isinstance(payer, int) and not isinstance(payer, bool) else None,
        )
    ]
