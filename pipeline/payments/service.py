"""Applying payment events to the database: payment row, order status, outbox, receipts.

Runs inside the event's transaction (a domain inbox subscriber). The payment row is
locked while the state machine decides, so concurrent events for one payment queue up.
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from sqlalchemy import literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.i18n.formats import money_param
from pipeline.live import orders as _live_orders  # noqa: F401  (announces order changes)
from pipeline.notifications.announce import notify_user
from pipeline.payments import (
    mismatch,
    snapshots,  # noqa: F401  (publishes orders for the receiver)
)
from pipeline.payments.matching import Outcome, Verdict, judge
from pipeline.payments.state import DEAD_ENDS, PaymentState, Transition, apply, is_paid
from pipeline.receipts import service as receipts
from schema.orders import Order, Payment
from schema.users import User

ORDER_STATUS = {
    PaymentStatus.PENDING: "pending",
    PaymentStatus.WAITING_FOR_CAPTURE: "pending",
    PaymentStatus.SUCCEEDED: "paid",
    PaymentStatus.CANCELED: "canceled",
    PaymentStatus.FAILED: "failed",
    PaymentStatus.PARTIALLY_REFUNDED: "partially_refunded",
    PaymentStatus.REFUNDED: "refunded",
}


def _order(session: Session, reference: str | None) -> Order | None:
    if not reference:
        return None
    stmt = select(Order).where(Order.public_id == reference).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _locked_payment(session: Session, event: PaymentEvent) -> tuple[Payment, bool]:
    """The payment row, locked, in one round trip; True when this call created it.

    The no-op DO UPDATE makes PostgreSQL lock and return an existing row as well;
    `xmax = 0` tells a fresh insert from that.
    """
    values = insert(Payment).values(
        provider=event.provider,
        provider_payment_id=event.provider_payment_id,
        status=PaymentStatus.PENDING.value,
        currency=event.currency,
    )
    stmt: Any = values.on_conflict_do_update(
        index_elements=["provider", "provider_payment_id"],
        set_={"provider": values.excluded.provider},
    ).returning(Payment, literal_column("(xmax = 0)"))
    row = session.execute(stmt, execution_options={"populate_existing": True}).one()
    payment: Payment = row[0]
    return payment, bool(row[1])


def _state(payment: Payment) -> PaymentState:
    return PaymentState(
        PaymentStatus(payment.status),
        payment.amount_minor,
        payment.paid_minor,
        payment.refunded_minor,
    )


def _remember(payment: Payment, event: PaymentEvent) -> None:
    """Keep what a later refund needs from the provider's message."""
    extra = {"payer_id": event.payer_id, "refund_target": event.refund_target}
    known = {k: v for k, v in extra.items() if v is not None and payment.details.get(k) != v}
    if known:
        payment.details = {**payment.details, **known}


def _verdict(payment: Payment, order: Order, event: PaymentEvent, t: Transition) -> Verdict:
    if payment.mismatch is not None:
        return Verdict(Outcome.MISMATCH, payment.mismatch)
    settles_it = payment.order_id == order.id and t.before is not None and is_paid(t.before.status)
    return judge(
        order,
        provider=payment.provider,
        currency=payment.currency,
        test=event.test,
        transition=t,
        settles_it=settles_it,
    )


def apply_event(ctx: DomainContext, event: PaymentEvent) -> Transition | None:
    """Record what `event` says about its payment; move the payment's order only when the
    money rules agree (pipeline.payments.matching), else record the mismatch."""
    session = ctx.session
    order = _order(session, event.order_reference)
    payment, created = _locked_payment(session, event)
    transition = apply(None if created else _state(payment), event)
    if not transition.changed:
        logger.info("payment {} unchanged by {}", payment.id, event.raw_reference)
        return transition
    after = transition.after
    payment.status = after.status.value
    payment.amount_minor = after.amount
    payment.paid_minor = after.paid
    payment.refunded_minor = after.refunded
    payment.raw_reference = event.raw_reference or payment.raw_reference
    _remember(payment, event)
    if payment.order_id is not None and (order is None or order.id != payment.order_id):
        order = session.get(Order, payment.order_id, with_for_update=True)
    logger.info("payment {}: {} -> {}", payment.id, transition.before, after.status)
    if order is None:
        return transition  # names no order of ours: recorded, nothing to move
    verdict = _verdict(payment, order, event, transition)
    if verdict.outcome is Outcome.MISMATCH:
        logger.warning("payment {} does not settle {}: {}", payment.id, order.public_id, verdict)
        mismatch.record(ctx, payment, order, transition, verdict.reason)
    elif verdict.outcome is Outcome.MOVE:
        payment.order_id = order.id
        order.status = ORDER_STATUS[after.status]
        if transition.became_paid:
            mismatch.record_overpayment(ctx, payment, order, after.paid)
        session.flush()
        _effects(ctx, payment, order, transition)
    return transition


def _effects(ctx: DomainContext, payment: Payment, order: Order, t: Transition) -> None:
    user = ctx.session.get(User, order.user_id)
    # The amount is written in each reader's locale when the message is rendered.
    params = {"order": order.public_id, "amount": money_param(t.after.paid, payment.currency)}
    if t.became_paid:
        if user is not None:
            notify_user(ctx, user, f"payment:{payment.id}:paid", "payment_received", params)
        receipts.request_sell(ctx, payment, order)
    if t.became in DEAD_ENDS and user is not None:
        notify_user(ctx, user, f"payment:{payment.id}:failed", "payment_failed", params)
    if t.refund_delta > 0:
        refund = {**params, "amount": money_param(t.refund_delta, payment.currency)}
        key = f"payment:{payment.id}:refunded:{t.after.refunded}"
        if user is not None:
            notify_user(ctx, user, key, "refund_done", refund)
        receipts.request_refund(ctx, payment, order, t.refund_delta)


def on_payment(ctx: DomainContext, event: NormalizedEvent) -> None:
    if not isinstance(event, PaymentEvent):
        return
    if event.provider == "telegram" and event.status is PaymentStatus.PENDING:
        return  # a pre-checkout query: the bot answers it, there is no payment yet
    apply_event(ctx, event)
