"""The payment state machine, pure: what a payment event changes, if anything.

Statuses are ranked; a payment only moves up. Canceled and failed are terminal beside
succeeded (same rank), so a late `canceled` cannot undo a success and a late `succeeded`
cannot revive a canceled payment. Refunded totals only grow; the refund status follows
from the total, whichever message carried it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.domain.normalized import PaymentEvent, PaymentStatus

RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.WAITING_FOR_CAPTURE: 1,
    PaymentStatus.SUCCEEDED: 2,
    PaymentStatus.CANCELED: 2,
    PaymentStatus.FAILED: 2,
    PaymentStatus.PARTIALLY_REFUNDED: 3,
    PaymentStatus.REFUNDED: 4,
}
REFUND_STATUSES = frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED})
DEAD_ENDS = frozenset({PaymentStatus.CANCELED, PaymentStatus.FAILED})


@dataclass(frozen=True)
class PaymentState:
    status: PaymentStatus
    amount: int | None
    paid: int
    refunded: int


@dataclass(frozen=True)
class Transition:
    before: PaymentState | None
    after: PaymentState

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def became(self) -> PaymentStatus | None:
        """The new status when the status changed, else None."""
        if self.before is not None and self.before.status == self.after.status:
            return None
        return self.after.status

    @property
    def became_paid(self) -> bool:
        """The payment reached succeeded or beyond (possibly straight to refunded)."""
        was = self.before.status if self.before else PaymentStatus.PENDING
        return RANK[was] < RANK[PaymentStatus.SUCCEEDED] and is_paid(self.after.status)

    @property
    def refund_delta(self) -> int:
        return self.after.refunded - (self.before.refunded if self.before else 0)


def _refund_total(current: PaymentState | None, event: PaymentEvent) -> int:
    known = current.refunded if current else 0
    if event.refunded_amount is not None:
        return max(known, event.refunded_amount)
    if event.refund_amount is not None:
        # One refund without totals: add it once. A repeat is stopped earlier by the
        # event's dedup key, so adding here cannot double count the same webhook.
        return known + event.refund_amount
    if event.status is PaymentStatus.REFUNDED:
        amount = event.amount if event.amount is not None else (current.paid if current else 0)
        return max(known, amount)
    return known


def apply(current: PaymentState | None, event: PaymentEvent) -> Transition:
    """The state after `event`; equal to `current` when the event is stale or a repeat."""
    status = PaymentStatus(current.status) if current else PaymentStatus.PENDING
    amount = current.amount if current and current.amount is not None else event.amount
    paid = current.paid if current else 0
    if event.paid_amount is not None:
        paid = max(paid, event.paid_amount)
    elif event.status is PaymentStatus.SUCCEEDED and event.amount is not None:
        paid = max(paid, event.amount)

    target = event.status
    moves_up = current is None or RANK[target] > RANK[status]
    if moves_up and not (status in DEAD_ENDS and target not in DEAD_ENDS):
        status = target

    refunded = _refund_total(current, event)
    if status not in DEAD_ENDS and refunded > 0:
        status = _refund_status(status, refunded, paid or amount or 0)
    return Transition(current, PaymentState(status, amount, paid, refunded))


def _refund_status(status: PaymentStatus, refunded: int, paid: int) -> PaymentStatus:
    derived = (
        PaymentStatus.REFUNDED if paid and refunded >= paid else PaymentStatus.PARTIALLY_REFUNDED
    )
    return derived if RANK[derived] >= RANK[status] else status


def is_paid(status: PaymentStatus) -> bool:
    return status is PaymentStatus.SUCCEEDED or status in REFUND_STATUSES
