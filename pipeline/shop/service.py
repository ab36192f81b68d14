"""Shop services for the bot. Callers commit (the bot's per-update session)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import Session

from pipeline.i18n import pick_language
from pipeline.live.orders import receipt_urls  # also announces order changes
from pipeline.payments import repository as payments
from pipeline.payments import snapshots  # noqa: F401  (publishes orders for the receiver)
from pipeline.shop import repository
from schema.catalog import Product
from schema.orders import Order
from schema.users import User


def register_user(
    session: Session,
    telegram_id: int,
    chat_id: int,
    username: str | None,
    first_name: str | None,
    language_code: str | None,
    default_language: str,
) -> User:
    """The user, created on first contact with the language Telegram reports (else
    `default_language`, the process's DEFAULT_LANGUAGE)."""
    lang = pick_language(language_code, default_language)
    return repository.add_user_if_new(session, telegram_id, chat_id, username, first_name, lang)


def reactivate(user: User) -> None:
    user.is_active = True
    user.blocked_at = None


def deactivate(user: User) -> None:
    """Telegram said 403: the user blocked the bot."""
    if user.is_active:
        user.is_active = False
        user.blocked_at = func.now()


def products(session: Session) -> list[Product]:
    """The products on sale."""
    return repository.products(session)


def create_order(
    session: Session, user: User, product: Product, method: str, quantity: int = 1
) -> Order:
    stars = method == "stars"
    if stars and not product.stars_price:
        raise ValueError("product is not sold for Stars")
    unit = product.stars_price if stars else product.price_minor
    order = Order(
        public_id=f"o-{secrets.token_hex(6)}",
        user_id=user.id,
        product_id=product.id,
        quantity=quantity,
        amount_minor=(unit or 0) * quantity,
        currency="XTR" if stars else product.currency,
        payment_method=method,
        status="pending",
    )
    session.add(order)
    session.flush()
    return order


def checkout_ok(session: Session, public_id: str, amount: int, currency: str, user_id: int) -> bool:
    """A pre-checkout query matches a payable order of this user."""
    order = payments.order_by_public_id(session, public_id)
    if order is None or order.status not in {"created", "pending"}:
        return False
    user = session.get(User, order.user_id)
    return (
        user is not None
        and user.telegram_id == user_id
        and order.amount_minor == amount
        and order.currency == currency
    )


def own_order(session: Session, user: User, public_id: str) -> Order | None:
    """The order when it is this user's; another user's order is as good as missing."""
    return repository.order_of_user(session, user.id, public_id)


@dataclass
class OrderLine:
    order: Order
    product: Product
    receipt_urls: list[str]


def user_orders(session: Session, user: User, limit: int = 10) -> list[OrderLine]:
    rows = repository.latest_orders_with_products(session, user.id, limit)
    urls = receipt_urls(session, [order.id for order, _ in rows])
    return [OrderLine(order, product, urls.get(order.id, [])) for order, product in rows]
