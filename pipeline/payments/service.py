"""Applying payment events to the database: payment row, order status, outbox, receipts.

Runs inside the event's transaction (a domain inbox subscriber). The payment row is
locked while the state machine decides, so concurrent events for one payment queue up.
A batch processed in one transaction is applied set-wise (pipeline.payments.batch) with
the same decision, `decide`, per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loguru import logger

from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.i18n.formats import money_param
from pipeline.live import orders as _live_orders  # noqa: F401  (announces order changes)
from pipeline.notifications.announce import notify_user
from pipeline.payments import (
    mismatch,
    repository,
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


def _verdict(
    ctx: DomainContext, payment: Payment, order: Order, event: PaymentEvent, t: Transition
) -> Verdict:
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
        settings=ctx.deps.settings,
    )


class Effects(Protocol):
    """What a settled payment asks for: the buyer told, a receipt made."""

    def notify(self, user: User, key: str, template: str, params: dict[str, Any]) -> None: ...

    def sell_receipt(self, payment: Payment, order: Order) -> None: ...

    def refund_receipt(self, payment: Payment, order: Order, amount: int) -> None: ...


@dataclass
class Immediate:
    """Effects written as they are asked for (one event at a time)."""

    ctx: DomainContext

    def notify(self, user: User, key: str, template: str, params: dict[str, Any]) -> None:
        notify_user(self.ctx, user, key, template, params)

    def sell_receipt(self, payment: Payment, order: Order) -> None:
        receipts.request_sell(self.ctx, payment, order)

    def refund_receipt(self, payment: Payment, order: Order, amount: int) -> None:
        receipts.request_refund(self.ctx, payment, order, amount)


@dataclass
class Found:
    """How a decision reaches what it may need beyond the event's own order and payment:
    the order the payment is already linked to (locked), the order's buyer."""

    linked_order: Callable[[int], Order | None]
    user: Callable[[int], User | None]
    effects: Effects
    flush: bool = True


def apply_event(ctx: DomainContext, event: PaymentEvent) -> Transition | None:
    """Record what `event` says about its payment; move the payment's order only when the
    money rules agree (pipeline.payments.matching), else record the mismatch."""
    session = ctx.session
    order = repository.lock_order(session, event.order_reference)
    payment, created = repository.lock_payment(session, event)
    found = Found(
        linked_order=lambda order_id: repository.lock_order_by_id(session, order_id),
        user=lambda user_id: session.get(User, user_id),
        effects=Immediate(ctx),
    )
    return decide(ctx, event, payment, created, order, found)


def decide(
    ctx: DomainContext,
    event: PaymentEvent,
    payment: Payment,
    created: bool,
    order: Order | None,
    found: Found,
) -> Transition:
    """The state machine and the money rules for one event, its payment locked."""
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
        order = found.linked_order(payment.order_id)
    logger.info("payment {}: {} -> {}", payment.id, transition.before, after.status)
    if order is None:
        return transition  # names no order of ours: recorded, nothing to move
    verdict = _verdict(ctx, payment, order, event, transition)
    if verdict.outcome is Outcome.MISMATCH:
        logger.warning("payment {} does not settle {}: {}", payment.id, order.public_id, verdict)
        mismatch.record(ctx, payment, order, transition, verdict.reason)
    elif verdict.outcome is Outcome.MOVE:
        payment.order_id = order.id
        order.status = ORDER_STATUS[after.status]
        if transition.became_paid:
            mismatch.record_overpayment(ctx, payment, order, after.paid)
        if found.flush:
            ctx.session.flush()
        _effects(ctx, payment, order, transition, found)
    return transition


def _effects(
    ctx: DomainContext, payment: Payment, order: Order, t: Transition, found: Found
) -> None:
    user = found.user(order.user_id)
    # The amount is written in each reader's locale when the message is rendered.
    params = {"order": order.public_id, "amount": money_param(t.after.paid, payment.currency)}
    if t.became_paid:
        if user is not None:
            found.effects.notify(user, f"payment:{payment.id}:paid", "payment_received", params)
        found.effects.sell_receipt(payment, order)
    if t.became in DEAD_ENDS and user is not None:
        found.effects.notify(user, f"payment:{payment.id}:failed", "payment_failed", params)
    if t.refund_delta > 0:
        refund = {**params, "amount": money_param(t.refund_delta, payment.currency)}
        key = f"payment:{payment.id}:refunded:{t.after.refunded}"
        if user is not None:
            found.effects.notify(user, key, "refund_done", refund)
        found.effects.refund_receipt(payment, order, t.refund_delta)
