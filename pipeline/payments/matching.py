"""Whether a payment may move the order it names: the money rules, pure.

A payment names its order through a reference the payer can often choose (CloudPayments
`InvoiceId`, a Payment Link's `client_reference_id`, a T-Bank `OrderId`), so a genuine,
signed payment proves only that money moved, not that it paid for this order. It moves
the order only when currency, amount, provider, mode and the order's state agree.
Which providers an order allows, and which orders are open: `pipeline.payments.order_rules`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pipeline.notifications.announce import format_amount
from pipeline.payments.order_rules import OPEN, SETTLED, allows, expired
from pipeline.payments.state import Transition, is_paid
from pipeline.settings import Settings
from schema.orders import Order


class Outcome(enum.Enum):
    MOVE = "move"  # the payment moves the order
    HOLD = "hold"  # the order is another payment's business now; nothing to report
    MISMATCH = "mismatch"  # recorded, the order untouched, the operators alerted


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""


MOVE = Verdict(Outcome.MOVE)


def judge(
    order: Order,
    *,
    provider: str,
    currency: str,
    test: bool,
    transition: Transition,
    settles_it: bool,
    settings: Settings,
) -> Verdict:
    """What `transition` of a payment may do to `order`. `settles_it`: this payment is the
    one that already paid the order (its refunds move the order, nothing else does)."""
    amount = format_amount(order.amount_minor, order.currency)
    if not allows(order.payment_method, provider):
        return _mismatch(f"{provider} is not how order {order.public_id} is paid")
    if currency != order.currency:
        return _mismatch(f"currency {currency}, the order is in {order.currency}")
    if test and not settings.allow_test_payments:
        return _mismatch("a test-mode payment (ALLOW_TEST_PAYMENTS is off)")
    after = transition.after
    stated = after.paid or after.amount
    if stated is None:
        return _mismatch("the payment states no amount")
    if stated < order.amount_minor:
        return _mismatch(f"{format_amount(stated, currency)} is less than the order's {amount}")
    if order.status in SETTLED and not settles_it:
        if is_paid(after.status) and transition.became_paid:
            return _mismatch(f"order {order.public_id} is already {order.status}")
        return Verdict(Outcome.HOLD)
    if order.status not in OPEN and not settles_it:
        return _mismatch(f"order {order.public_id} is {order.status}")
    if order.status in OPEN and expired(order.created_at, hours=settings.order_pay_within_h):
        return _mismatch(f"order {order.public_id} was not paid in time")
    return MOVE


def _mismatch(reason: str) -> Verdict:
    return Verdict(Outcome.MISMATCH, reason)
