"""Operator refunds: Telegram Stars through `refundStarPayment`, YooKassa through its API.

The payment changes only on the provider's word: for Stars the API's success (the later
`refunded_payment` update is then a no-op repeat); for YooKassa a `succeeded` refund
(else the `refund.succeeded` webhook does it). Callers commit, then run the context's
jobs (the user's notification, the refund receipt).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select

from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.payments.links import amount
from pipeline.payments.service import apply_event
from pipeline.providers import telegram_events
from pipeline.providers import yookassa as yookassa_provider
from schema.orders import Order, Payment
from schema.users import User

REFUNDABLE = ("succeeded", "partially_refunded")


class RefundError(Exception):
    """The order cannot be refunded this way (shown to the operator)."""


class BotCaller(Protocol):
    def call(self, method: str, **params: Any) -> Any: ...


class YooKassaRefunds(Protocol):
    def create_refund(self, body: dict[str, Any], key: str) -> dict[str, Any]: ...

    def get_payment(self, payment_id: str) -> dict[str, Any]: ...


def _payment(ctx: DomainContext, public_id: str) -> tuple[Order, Payment]:
    order = ctx.session.execute(
        select(Order).where(Order.public_id == public_id)
    ).scalar_one_or_none()
    if order is None:
        raise RefundError(f"no order {public_id}")
    payment = ctx.session.execute(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.status.in_(REFUNDABLE))
        .order_by(Payment.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if payment is None:
        raise RefundError(f"order {public_id} has no paid payment to refund")
    return order, payment


def refund_order(
    ctx: DomainContext, public_id: str, bot: BotCaller, yookassa: YooKassaRefunds
) -> str:
    """Refund what is left of the order's payment; the payment's status afterwards."""
    order, payment = _payment(ctx, public_id)
    left = payment.paid_minor - payment.refunded_minor
    if payment.provider == telegram_events.PROVIDER:
        if payment.currency != "XTR":
            raise RefundError("card payments made in Telegram are refunded by the provider")
        owner = ctx.session.get(User, order.user_id)
        assert owner is not None
        # Raises TelegramError when Telegram refuses: nothing changes then.
        bot.call(
            "refundStarPayment",
            user_id=owner.telegram_id,
            telegram_payment_charge_id=payment.provider_payment_id,
        )
        event = PaymentEvent(
            provider=payment.provider,
            provider_payment_id=payment.provider_payment_id,
            order_reference=order.public_id,
            amount=payment.amount_minor,
            currency=payment.currency,
            status=PaymentStatus.REFUNDED,
            paid_amount=payment.paid_minor,
            refunded_amount=payment.paid_minor,
            raw_reference=f"refund:{order.public_id}",
        )
        apply_event(ctx, event)
        return payment.status
    if payment.provider == yookassa_provider.YooKassaProvider.name:
        body = {"payment_id": payment.provider_payment_id, "amount": amount(left, payment.currency)}
        # Keyed by what was refunded so far: a retried command does not refund twice.
        refund = yookassa.create_refund(body, f"refund-{payment.id}-{payment.refunded_minor}")
        if refund.get("status") == "succeeded":
            fetched = yookassa.get_payment(payment.provider_payment_id)
            ref = f"refund:{refund.get('id')}"
            apply_event(ctx, yookassa_provider.normalize_payment(fetched, ref))
        return payment.status
    raise RefundError(f"refunds through {payment.provider} are not supported here")
