"""Bot users for the console: search, and one customer with orders and feedback thread."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from pipeline.backoffice import repository
from pipeline.backoffice.repository import CustomerFilter
from schema.catalog import Product
from schema.messaging import FeedbackMessage
from schema.orders import Order
from schema.users import User

PAGE = 50
RECENT = 50

__all__ = ["CustomerFilter", "CustomerView", "customer_view", "for_update", "search"]


@dataclass
class CustomerView:
    user: User
    orders: list[tuple[Order, Product]] = field(default_factory=list)
    messages: list[FeedbackMessage] = field(default_factory=list)


def search(
    session: Session, f: CustomerFilter, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[User], int | None]:
    """Newest first; the id to continue below, if there is more. The search box takes
    "@name" as Telegram shows it."""
    f = replace(f, query=f.query.strip().lstrip("@") if f.query else None)
    rows = repository.search_users(session, f, before_id, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def customer_view(session: Session, user_id: int) -> CustomerView | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    view = CustomerView(user)
    view.orders = repository.recent_orders_of(session, user_id, RECENT)
    view.messages = repository.latest_feedback(session, user_id, RECENT)
    return view


def for_update(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id, with_for_update=True)
