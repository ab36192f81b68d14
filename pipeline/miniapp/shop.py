"""What the Mini App's buyer does: browse in their language, fill a cart, check out into
the same orders the bot creates, pay, and read their own orders. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.live.orders import order_item
from pipeline.miniapp import repository
from pipeline.payments import links
from pipeline.settings import Settings
from pipeline.shop.catalog import product_text
from pipeline.shop.service import create_order, products, user_orders
from pipeline.shop.service import own_order as own_order  # the API asks the Mini App module
from schema.catalog import Product
from schema.orders import Order
from schema.users import User

Method = Literal["stars", "card", "link"]
# How an order records the way it is paid (the bot's names).
ORDER_METHOD = {"stars": "stars", "card": "telegram", "link": "yookassa"}
MAX_QUANTITY = 99


class ShopError(ValueError):
    """A request the shop cannot honour (shown to the buyer as a 409/422)."""


def localized(product: Product, lang: str, default_language: str) -> dict[str, Any]:
    chosen = product_text(product, lang, default_language)
    return {
        "id": product.id,
        "code": product.code,
        "title": chosen["title"],
        "description": chosen["description"],
        "price_minor": product.price_minor,
        "currency": product.currency,
        "stars_price": product.stars_price,
        "image_url": product.image_url,
    }


def catalog(session: Session, lang: str, settings: Settings) -> list[dict[str, Any]]:
    return [localized(p, lang, settings.default_language) for p in products(session)]


def methods(deps: Deps, product: Product | None = None) -> list[Method]:
    """The payment methods this shop offers (for a product, those it can be paid by), by
    the process's settings and provider settings."""
    found: list[Method] = []
    if product is None or product.stars_price:
        found.append("stars")
    if deps.settings.telegram_payment_provider_token:
        found.append("card")
    if links.available(deps.providers):
        found.append("link")
    return found


@dataclass
class CartLine:
    product: Product
    quantity: int


def cart(session: Session, user: User) -> list[CartLine]:
    rows = repository.cart_items(session, user.id)
    return [CartLine(product, item.quantity) for item, product in rows]


def cart_view(session: Session, user: User, lang: str, deps: Deps) -> dict[str, Any]:
    default = deps.settings.default_language
    return {
        "items": [
            {"product": localized(x.product, lang, default), "quantity": x.quantity}
            for x in cart(session, user)
        ],
        "methods": methods(deps),
    }


def set_quantity(session: Session, user: User, product_id: int, quantity: int) -> None:
    """Put `quantity` of a product in the cart (0 takes it out)."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise ShopError(f"quantity must be 0…{MAX_QUANTITY}")
    if quantity == 0:
        repository.remove_from_cart(session, user.id, product_id)
        return
    product = session.get(Product, product_id)
    if product is None or not product.is_active:
        raise ShopError("this product is not on sale")
    repository.put_in_cart(session, user.id, product_id, quantity)


def checkout(session: Session, user: User, method: Method, deps: Deps) -> list[Order]:
    """One order per cart line (an order is one product and its quantity, as in the bot);
    the cart is emptied in the same transaction."""
    lines = cart(session, user)
    if not lines:
        raise ShopError("the cart is empty")
    if method not in methods(deps):
        raise ShopError(f"payment by {method} is not available")
    orders = []
    for line in lines:
        if not line.product.is_active:
            raise ShopError(f"{line.product.code} is no longer on sale")
        if method == "stars" and not line.product.stars_price:
            raise ShopError(f"{line.product.code} is not sold for Stars")
        orders.append(
            create_order(session, user, line.product, ORDER_METHOD[method], line.quantity)
        )
    repository.empty_cart(session, user.id)
    return orders


def order_views(
    session: Session, user: User, lang: str, default_language: str, limit: int = 50
) -> list[dict[str, Any]]:
    return [
        order_view(line.order, line.product, lang, line.receipt_urls, default_language)
        for line in user_orders(session, user, limit)
    ]


def order_view(
    order: Order, product: Product, lang: str, urls: list[str], default_language: str
) -> dict[str, Any]:
    view = order_item(order, urls)
    view.pop("user_id")
    view.update(
        product=localized(product, lang, default_language),
        quantity=order.quantity,
        payment_method=order.payment_method,
        payment_url=order.payment_url,
        created_at=order.created_at.isoformat() if order.created_at else None,
    )
    return view
