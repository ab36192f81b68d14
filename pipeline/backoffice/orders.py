"""Orders and payments for the console: a filtered list, and one order with its payments,
receipts, the notifications sent about it and the webhook events that moved it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, defer

from pipeline.events.filter_repository import payload_contains
from pipeline.like import ESCAPE, escaped
from schema.catalog import Product
from schema.events import Event
from schema.messaging import Notification
from schema.orders import Order, Payment, Receipt
from schema.users import User

PAGE = 50
EVENTS_SHOWN = 50
STATUSES = ("created", "pending", "paid", "partially_refunded", "refunded", "canceled", "failed")


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    method: str | None = None
    # An order's public id, or a buyer's Telegram id or @username.
    query: str | None = None


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
    stmt = (
        select(Order, User, Product)
        .join(User, User.id == Order.user_id)
        .join(Product, Product.id == Order.product_id)
        .order_by(Order.id.desc())
        .limit(limit + 1)
    )
    if f.status:
        stmt = stmt.where(Order.status == f.status)
    if f.method:
        stmt = stmt.where(Order.payment_method == f.method)
    if f.query:
        q = f.query.strip().lstrip("@")
        matches = [Order.public_id == q, User.username.ilike(escaped(q), escape=ESCAPE)]
        if q.isdigit() and len(q) < 19:
            matches.append(User.telegram_id == int(q))
        stmt = stmt.where(or_(*matches))
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    rows = [OrderRow(o, u, p) for o, u, p in session.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].order.id if more and rows else None)


PAYMENT_STATUSES = (
    "pending", "waiting_for_capture", "succeeded", "partially_refunded", "refunded",
    "canceled", "failed",
)  # fmt: skip


@dataclass(frozen=True)
class PaymentFilter:
    provider: str | None = None
    status: str | None = None
    mismatched: bool = False


def list_payments(
    session: Session, f: PaymentFilter, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[tuple[Payment, Order | None]], int | None]:
    """Newest first, each with its order (None: a payment that named no known order)."""
    stmt = (
        select(Payment, Order)
        .outerjoin(Order, Order.id == Payment.order_id)
        .order_by(Payment.id.desc())
        .limit(limit + 1)
    )
    if f.provider:
        stmt = stmt.where(Payment.provider == f.provider)
    if f.status:
        stmt = stmt.where(Payment.status == f.status)
    if f.mismatched:
        stmt = stmt.where(Payment.mismatch.is_not(None))
    if before_id is not None:
        stmt = stmt.where(Payment.id < before_id)
    rows: list[tuple[Payment, Order | None]] = [(p, o) for p, o in session.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def providers(session: Session) -> list[str]:
    return list(session.scalars(select(Payment.provider).distinct().order_by(Payment.provider)))


def methods(session: Session) -> list[str]:
    stmt = select(Order.payment_method).distinct().order_by(Order.payment_method)
    return list(session.scalars(stmt))


def order_view(session: Session, public_id: str) -> OrderView | None:
    found = session.execute(
        select(Order, User, Product)
        .join(User, User.id == Order.user_id)
        .join(Product, Product.id == Order.product_id)
        .where(Order.public_id == public_id)
    ).first()
    if found is None:
        return None
    order, user, product = found
    view = OrderView(order, user, product)
    view.payments = list(
        session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id))
    )
    payment_ids = [p.id for p in view.payments]
    view.receipts = list(
        session.scalars(
            select(Receipt).where(Receipt.payment_id.in_(payment_ids)).order_by(Receipt.id)
        )
    )
    view.notifications = _notifications(session, payment_ids, [r.id for r in view.receipts])
    view.events = _events(session, order, view.payments)
    return view


def _notifications(
    session: Session, payment_ids: list[int], receipt_ids: list[int]
) -> list[Notification]:
    """The buyer's messages about this order (`payment:<id>:…`, `receipt:<id>:…`)."""
    keys = [f"payment:{i}:%" for i in payment_ids] + [f"receipt:{i}:%" for i in receipt_ids]
    if not keys:
        return []
    stmt = select(Notification).where(or_(*(Notification.dedup_key.like(k) for k in keys)))
    return list(session.scalars(stmt.order_by(Notification.id)))


def _events(session: Session, order: Order, payments: list[Payment]) -> list[Event]:
    """Webhook events naming the order or one of its payments (the payload's text, through
    the trigram index), oldest first."""
    needles = {order.public_id, *(p.provider_payment_id for p in payments)}
    stmt = (
        select(Event)
        .options(defer(Event.raw_body), defer(Event.headers))
        .where(payload_contains(*sorted(needles)))
        .order_by(Event.id.desc())
        .limit(EVENTS_SHOWN)
    )
    return sorted(session.scalars(stmt), key=lambda e: e.id)
