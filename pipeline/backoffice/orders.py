"""Orders and payments for the console: a filtered list, and one order with its payments,
receipts, the notifications sent about it and the webhook events that moved it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from pipeline.backoffice import repository
from pipeline.backoffice.repository import OrderFilter, PaymentFilter
from schema.catalog import Product
from schema.events import Event
from schema.messaging import Notification
from schema.orders import Order, Payment, Receipt
from schema.users import User

PAGE = 50
EVENTS_SHOWN = 50
STATUSES = ("created", "pending", "paid", "partially_refunded", "refunded", "canceled", "failed")
PAYMENT_STATUSES = (
    "pending", "waiting_for_capture", "succeeded", "partially_refunded", "refunded",
    "canceled", "failed",
)  # fmt: skip

__all__ = [
    "PAYMENT_STATUSES",
    "STATUSES",
    "OrderFilter",
    "OrderRow",
    "OrderView",
    "PaymentFilter",
    "list_orders",
    "list_payments",
    "methods",
    "order_view",
    "providers",
]


@dataclass
class OrderRow:
    order: Order
    user: User
    product: Product


@dataclass
class OrderView:
    order: Order
    user: User
    product: Product
    payments: list[Payment] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def refundable(self) -> bool:
        return any(p.status in ("succeeded", "partially_refunded") for p in self.payments)


def list_orders(
    session: Session, f: OrderFilter, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[OrderRow], int | None]:
    """Newest first; the id to continue below, if there is more."""
    found = repository.search_orders(session, f, before_id, limit + 1)
    rows = [OrderRow(o, u, p) for o, u, p in found]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].order.id if more and rows else None)


def list_payments(
    session: Session, f: PaymentFilter, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[tuple[Payment, Order | None]], int | None]:
    """Newest first, each with its order (None: a payment that named no known order)."""
    rows = repository.search_payments(session, f, before_id, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def providers(session: Session) -> list[str]:
    return repository.payment_providers(session)


def methods(session: Session) -> list[str]:
    return repository.order_methods(session)


def order_view(session: Session, public_id: str) -> OrderView | None:
    found = repository.order_with_buyer(session, public_id)
    if found is None:
        return None
    order, user, product = found
    view = OrderView(order, user, product)
    view.payments = repository.payments_of_order(session, order.id)
    payment_ids = [p.id for p in view.payments]
    view.receipts = repository.receipts_of_payments(session, payment_ids)
    receipt_ids = [r.id for r in view.receipts]
    # The buyer's messages about this order, and the webhook events naming it or one of
    # its payments.
    view.notifications = repository.notifications_about(session, payment_ids, receipt_ids)
    needles = {order.public_id, *(p.provider_payment_id for p in view.payments)}
    view.events = repository.events_naming(session, sorted(needles), EVENTS_SHOWN)
    return view
