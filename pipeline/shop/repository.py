"""The shop's SQL: users by Telegram id, products, orders, feedback messages and threads.
Functions take the session and never commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from schema.catalog import Product
from schema.messaging import FeedbackMessage
from schema.orders import Order
from schema.users import User


def add_user_if_new(
    session: Session,
    telegram_id: int,
    chat_id: int,
    username: str | None,
    first_name: str | None,
    language: str,
) -> User:
    """Insert the user unless its Telegram id is known; the stored user either way."""
    session.execute(
        insert(User)
        .values(
            telegram_id=telegram_id,
            chat_id=chat_id,
            username=username,
            first_name=first_name,
            language=language,
        )
        .on_conflict_do_nothing(index_elements=["telegram_id"])
    )
    return session.execute(select(User).where(User.telegram_id == telegram_id)).scalar_one()


def is_blocked(session: Session, telegram_id: int) -> bool:
    """Whether an operator blocked the user (False for an unknown one)."""
    stmt = select(User.blocked).where(User.telegram_id == telegram_id)
    return bool(session.scalar(stmt))


def products(session: Session, *, include_inactive: bool = False) -> list[Product]:
    """The catalogue in id order: the products on sale, or all of them."""
    stmt = select(Product).order_by(Product.id)
    if not include_inactive:
        stmt = stmt.where(Product.is_active.is_(True))
    return list(session.scalars(stmt))


def product_id_with_code(session: Session, code: str) -> int | None:
    return session.scalars(select(Product.id).where(Product.code == code)).first()


def upsert_products(session: Session, items: Sequence[Mapping[str, Any]]) -> None:
    """Insert each product, or update the one with its code (only the fields given)."""
    for item in items:
        stmt = insert(Product).values(**item)
        changed = {key: stmt.excluded[key] for key in item if key != "code"}
        session.execute(stmt.on_conflict_do_update(index_elements=["code"], set_=changed))


def order_of_user(session: Session, user_id: int, public_id: str) -> Order | None:
    """The order with this public id when it belongs to the user."""
    stmt = select(Order).where(Order.public_id == public_id, Order.user_id == user_id)
    return session.scalars(stmt).first()


def latest_orders_with_products(
    session: Session, user_id: int, limit: int
) -> list[tuple[Order, Product]]:
    """The user's newest orders first, each with its product."""
    rows = session.execute(
        select(Order, Product)
        .join(Product, Product.id == Order.product_id)
        .where(Order.user_id == user_id)
        .order_by(Order.id.desc())
        .limit(limit)
    ).all()
    return [(order, product) for order, product in rows]


def relayed_message(
    session: Session, operator_chat_id: int, message_id: int
) -> FeedbackMessage | None:
    """The user's message whose relayed copy in the operators' chat has this id."""
    stmt = select(FeedbackMessage).where(
        FeedbackMessage.operator_chat_id == operator_chat_id,
        FeedbackMessage.operator_message_id == message_id,
        FeedbackMessage.direction == "in",
    )
    return session.execute(stmt).scalars().first()


def latest_feedback_threads(
    session: Session, limit: int, before_message_id: int | None
) -> list[tuple[FeedbackMessage, User, int]]:
    """One row per user who wrote: their last message, the user and how many messages
    the thread has; newest conversation first, older than `before_message_id` if given."""
    last = (
        select(
            FeedbackMessage.user_id,
            func.max(FeedbackMessage.id).label("last_id"),
            func.count().label("messages"),
        )
        .group_by(FeedbackMessage.user_id)
        .subquery()
    )
    stmt = (
        select(FeedbackMessage, User, last.c.messages)
        .join(FeedbackMessage, FeedbackMessage.id == last.c.last_id)
        .join(User, User.id == last.c.user_id)
        .order_by(last.c.last_id.desc())
        .limit(limit)
    )
    if before_message_id is not None:
        stmt = stmt.where(last.c.last_id < before_message_id)
    return [(row[0], row[1], int(row[2])) for row in session.execute(stmt)]
