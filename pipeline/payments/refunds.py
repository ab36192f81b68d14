"""Refunds: Telegram Stars through `refundStarPayment`, YooKassa and Stripe through their
APIs; asked for by an operator (an order) or by the money rules (a mismatched payment).

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
from pipeline.payments import mismatch
from pipeline.payments.links import amount
from pipeline.payments.service import apply_event
from pipeline.providers import stripe_events, telegram_events
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


class StripeRefunds(Protocol):
    def create_refund(self, target: str, amount: int, key: str) -> dict[str, Any]: ...


def refund_order(
    ctx: DomainContext,
    public_id: str,
    bot: BotCaller,
    yookassa: YooKassaRefunds,
    stripe: StripeRefunds | None = None,
) -> str:
    """Refund what is left of the order's payment; the payment's status afterwards."""
    order, payment = _payment(ctx, public_id)
    owner = ctx.session.get(User, order.user_id)
    payer = mismatch.payer(payment) or (owner.telegram_id if owner is not None else None)
    key = f"refund-{payment.id}-{payment.refunded_minor}"
    return refund_payment(ctx, payment, payer, key, bot, yookassa, stripe)


def refund_mismatched(
    ctx: DomainContext,
    payment_id: int,
    bot: BotCaller,
    yookassa: YooKassaRefunds,
    stripe: StripeRefunds | None = None,
) -> str | None:
    """Give back a payment that did not settle the order it named (the refund task).
    None when there is nothing (left) to refund."""
    payment = ctx.session.get(Payment, payment_id, with_for_update=True)
    if payment is None or payment.mismatch is None or payment.status not in REFUNDABLE:
        return None
    # Keyed by the payment alone: however often the task runs, one refund is made.
    key = f"mismatch-refund-{payment.id}"
    return refund_payment(ctx, payment, mismatch.payer(payment), key, bot, yookassa, stripe)


def _refunded(ctx: DomainContext, payment: Payment, ref: str) -> None:
    """Apply a refund the provider confirmed (its webhook is then a no-op repeat)."""
    event = PaymentEvent(
        provider=payment.provider,
        provider_payment_id=payment.provider_payment_id,
        order_reference=None,
        amount=payment.amount_minor,
        currency=payment.currency,
        status=PaymentStatus.REFUNDED,
        paid_amount=payment.paid_minor,
        refunded_amount=payment.paid_minor,
        raw_reference=ref,
    )
    apply_event(ctx, event)


def refund_payment(
    ctx: DomainContext,
    payment: Payment,
    payer: int | None,
    key: str,
    bot: BotCaller,
    yookassa: YooKassaRefunds,
    stripe: StripeRefunds | None = None,
) -> str:
    """Refund what is left of `payment` through its provider's API; its status afterwards.
    `key` makes a retried call the same refund at the provider."""
    left = payment.paid_minor - payment.refunded_minor
    if payment.provider == telegram_events.PROVIDER:
        if payment.currency != "XTR":
            raise RefundError("card payments made in Telegram are refunded by the provider")
        if payer is None:
            raise RefundError("the Telegram user who paid is not known")
        # Raises TelegramError when Telegram refuses: nothing changes then.
        bot.call(
            "refundStarPayment",
            user_id=payer,
            telegram_payment_charge_id=payment.provider_payment_id,
        )
        _refunded(ctx, payment, f"refund:{payment.provider_payment_id}")
        return payment.status
    if payment.provider == yookassa_provider.YooKassaProvider.name:
        body = {"payment_id": payment.provider_payment_id, "amount": amount(left, payment.currency)}
        refund = yookassa.create_refund(body, key)
        if refund.get("status") == "succeeded":
            fetched = yookassa.get_payment(payment.provider_payment_id)
            ref = f"refund:{refund.get('id')}"
            apply_event(ctx, yookassa_provider.normalize_payment(fetched, ref))
        return payment.status
    target = mismatch.stripe_target(payment)
    if payment.provider == stripe_events.PROVIDER and stripe is not None and target is not None:
        refund = stripe.create_refund(target, left, key)
        if refund.get("status") == "succeeded":
            _refunded(ctx, payment, f"refund:{refund.get('id')}")
        return payment.status
    raise RefundError(f"refunds through {payment.provider} are not supported here")
