"""Bot users for the console: search, and one customer with orders and feedback thread."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from pipeline.like import ESCAPE, containing
from schema.catalog import Product
from schema.messaging import FeedbackMessage
from schema.orders import Order
from schema.users import User

PAGE = 50
RECENT = 50


@dataclass(frozen=True)
class CustomerFilter:
    query: str | None = None  # @username, first name or Telegram id
    blocked: bool | None = None


@dataclass
class CustomerView:
    user: User
    orders: list[tuple[Order, Product]] = field(default_factory=list)
    messages: list[FeedbackMessage] = field(default_factory=list)


def search(
    session: Session, f: CustomerFilter, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[User], int | None]:
    """Newest first; the id to continue below, if there is more."""
    stmt = select(User).order_by(User.id.desc()).limit(limit + 1)
    if f.query:
        q = f.query.strip().lstrip("@")
        pattern = containing(q)
        stmt = stmt.where(
            or_(
                User.username.ilike(pattern, escape=ESCAPE),
                User.first_name.ilike(pattern, escape=ESCAPE),
                cast(User.telegram_id, String) == q,
            )
        )
    if f.blocked is not None:
        stmt = stmt.where(User.blocked.is_(f.blocked))
    if before_id is not None:
        stmt = stmt.where(User.id < before_id)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def customer_view(session: Session, user_id: int) -> CustomerView | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    view = CustomerView(user)
    view.orders = [
        (order, product)
        for order, product in session.execute(
            select(Order, Product)
            .join(Product, Product.id == Order.product_id)
            .where(Order.user_id == user_id)
            .order_by(Order.id.desc())
            .limit(RECENT)
        )
    ]
    latest = (
        select(FeedbackMessage)
        .where(FeedbackMessage.user_id == user_id)
        .order_by(FeedbackMessage.id.desc())
        .limit(RECENT)
    )
    view.messages = sorted(session.scalars(latest), key=lambda m: m.id)
    return view


def for_update(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id, with_for_update=True)
