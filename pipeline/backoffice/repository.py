"""The operators' SQL (the console pages and the API's lists): broadcasts, customers,
feedback threads, orders, payments and receipts.

Lists are newest first and paged by keyset (rows below `before_id`); the callers ask for
one row more than they show to know whether there is a next page. Functions take the
session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, defer

from pipeline.events.filter_repository import payload_contains
from pipeline.like import ESCAPE, containing, escaped
from schema.catalog import Product
from schema.events import Event
from schema.messaging import Broadcast, FeedbackMessage, Notification
from schema.orders import Order, Payment, Receipt
from schema.users import User


def recent_broadcasts(
    session: Session, limit: int, before_id: int | None = None
) -> list[Broadcast]:
    stmt = select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(Broadcast.id < before_id)
    return list(session.scalars(stmt))


def customer_languages(session: Session) -> list[str]:
    stmt = select(User.language).distinct().order_by(User.language)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class CustomerFilter:
    # In a username or first name, or a Telegram id; matched as given (the console's
    # search strips a leading @ first, the API's does not).
    query: str | None = None
    blocked: bool | None = None
    active: bool | None = None  # has not blocked the bot


def search_users(
    session: Session, f: CustomerFilter, before_id: int | None, limit: int
) -> list[User]:
    stmt = select(User).order_by(User.id.desc()).limit(limit)
    if f.query is not None:
        pattern = containing(f.query)
        stmt = stmt.where(
            or_(
                User.username.ilike(pattern, escape=ESCAPE),
                User.first_name.ilike(pattern, escape=ESCAPE),
                cast(User.telegram_id, String) == f.query,
            )
        )
    if f.active is not None:
        stmt = stmt.where(User.is_active.is_(f.active))
    if f.blocked is not None:
        stmt = stmt.where(User.blocked.is_(f.blocked))
    if before_id is not None:
        stmt = stmt.where(User.id < before_id)
    return list(session.scalars(stmt))


def recent_orders_of(session: Session, user_id: int, limit: int) -> list[tuple[Order, Product]]:
    """The user's newest orders with their products, newest first."""
    stmt = (
        select(Order, Product)
        .join(Product, Product.id == Order.product_id)
        .where(Order.user_id == user_id)
        .order_by(Order.id.desc())
        .limit(limit)
    )
    return [(order, product) for order, product in session.execute(stmt)]


def latest_feedback(session: Session, user_id: int, limit: int | None) -> list[FeedbackMessage]:
    """The user's last `limit` feedback messages (None: all), oldest first (as a thread
    reads)."""
    latest = (
        select(FeedbackMessage)
        .where(FeedbackMessage.user_id == user_id)
        .order_by(FeedbackMessage.id.desc())
        .limit(limit)
    )
    return sorted(session.scalars(latest), key=lambda m: m.id)


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    method: str | None = None
    # An order's public id, or a buyer's Telegram id or @username.
    query: str | None = None
    user_id: int | None = None


def search_orders(
    session: Session, f: OrderFilter, before_id: int | None, limit: int
) -> list[tuple[Order, User, Product]]:
    """Orders with their buyers and products, newest first."""
    stmt = (
        select(Order, User, Product)
        .join(User, User.id == Order.user_id)
        .join(Product, Product.id == Order.product_id)
        .order_by(Order.id.desc())
        .limit(limit)
    )
    if f.status:
        stmt = stmt.where(Order.status == f.status)
    if f.method:
        stmt = stmt.where(Order.payment_method == f.method)
    if f.user_id:
        stmt = stmt.where(Order.user_id == f.user_id)
    if f.query:
        q = f.query.strip().lstrip("@")
        matches = [Order.public_id == q, User.username.ilike(escaped(q), escape=ESCAPE)]
        if q.isdigit() and len(q) < 19:
            matches.append(User.telegram_id == int(q))
        stmt = stmt.where(or_(*matches))
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return [(o, u, p) for o, u, p in session.execute(stmt)]


@dataclass(frozen=True)
class PaymentFilter:
    provider: str | None = None
    status: str | None = None
    mismatched: bool = False


def search_payments(
    session: Session, f: PaymentFilter, before_id: int | None, limit: int
) -> list[tuple[Payment, Order | None]]:
    """Payments with their orders (None: a payment that named no known order), newest
    first."""
    stmt = (
        select(Payment, Order)
        .outerjoin(Order, Order.id == Payment.order_id)
        .order_by(Payment.id.desc())
        .limit(limit)
    )
    if f.provider:
        stmt = stmt.where(Payment.provider == f.provider)
    if f.status:
        stmt = stmt.where(Payment.status == f.status)
    if f.mismatched:
        stmt = stmt.where(Payment.mismatch.is_not(None))
    if before_id is not None:
        stmt = stmt.where(Payment.id < before_id)
    return [(p, o) for p, o in session.execute(stmt)]


def payment_providers(session: Session) -> list[str]:
    return list(session.scalars(select(Payment.provider).distinct().order_by(Payment.provider)))


def order_methods(session: Session) -> list[str]:
    stmt = select(Order.payment_method).distinct().order_by(Order.payment_method)
    return list(session.scalars(stmt))


def order_with_buyer(session: Session, public_id: str) -> tuple[Order, User, Product] | None:
    """The order by its public id, with its buyer and product."""
    found = session.execute(
        select(Order, User, Product)
        .join(User, User.id == Order.user_id)
        .join(Product, Product.id == Order.product_id)
        .where(Order.public_id == public_id)
    ).first()
    if found is None:
        return None
    order, user, product = found
    return order, user, product


def payments_of_order(session: Session, order_id: int) -> list[Payment]:
    stmt = select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)
    return list(session.scalars(stmt))


def receipts_of_payments(session: Session, payment_ids: Sequence[int]) -> list[Receipt]:
    stmt = select(Receipt).where(Receipt.payment_id.in_(payment_ids)).order_by(Receipt.id)
    return list(session.scalars(stmt))


def search_receipts(
    session: Session, status: str | None, before_id: int | None, limit: int
) -> list[Receipt]:
    """Receipts newest first, with `status` if given."""
    stmt = select(Receipt).order_by(Receipt.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Receipt.status == status)
    if before_id is not None:
        stmt = stmt.where(Receipt.id < before_id)
    return list(session.scalars(stmt))


def notifications_about(
    session: Session, payment_ids: Sequence[int], receipt_ids: Sequence[int]
) -> list[Notification]:
    """The outbox rows about these payments and receipts (`payment:<id>:…`,
    `receipt:<id>:…`), oldest first."""
    keys = [f"payment:{i}:%" for i in payment_ids] + [f"receipt:{i}:%" for i in receipt_ids]
    if not keys:
        return []
    stmt = select(Notification).where(or_(*(Notification.dedup_key.like(k) for k in keys)))
    return list(session.scalars(stmt.order_by(Notification.id)))


def events_naming(session: Session, needles: Sequence[str], limit: int) -> list[Event]:
    """The last `limit` webhook events whose payload's text holds one of `needles`
    (through the trigram index), oldest first; without their raw bodies and headers."""
    stmt = (
        select(Event)
        .options(defer(Event.raw_body), defer(Event.headers))
        .where(payload_contains(*needles))
        .order_by(Event.id.desc())
        .limit(limit)
    )
    return sorted(session.scalars(stmt), key=lambda e: e.id)
