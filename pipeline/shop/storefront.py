"""The shop as the bot uses it within one update: the update's session (the caller
commits): products on sale, orders, the pre-checkout check and the buyer's orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline.live.orders import receipt_urls
from pipeline.payments import links
from pipeline.shop import service
from pipeline.shop.service import OrderLine
from schema.catalog import Product
from schema.orders import Order
from schema.users import User


@dataclass
class Storefront:
    session: Session

    def on_sale(self) -> list[Product]:
        return service.products(self.session)

    def product_for_sale(self, product_id: int) -> Product | None:
        """The product if it is still on sale (it may have been withdrawn since shown)."""
        product = self.session.get(Product, product_id)
        return product if product is not None and product.is_active else None

    def create_order(self, user: User, product: Product, method: str) -> Order:
        return service.create_order(self.session, user, product, method)

    def remember_link(self, order: Order, payment: dict[str, Any]) -> str:
        """The YooKassa payment made for the order, stored; its confirmation URL."""
        return links.remember(self.session, order, payment)

    def checkout_ok(self, public_id: str, amount: int, currency: str, telegram_id: int) -> bool:
        return service.checkout_ok(self.session, public_id, amount, currency, telegram_id)

    def orders_of(self, user: User, limit: int = 10) -> list[OrderLine]:
        return service.user_orders(self.session, user, limit)

    def own_order(self, user: User, public_id: str) -> OrderLine | None:
        """The order with its product and receipts when it is this user's; another
        user's order is as good as missing."""
        order = service.own_order(self.session, user, public_id)
        if order is None:
            return None
        product = self.session.get(Product, order.product_id)
        if product is None:
            return None
        urls = receipt_urls(self.session, [order.id])
        return OrderLine(order, product, urls.get(order.id, []))

    def user(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def reactivate(self, user: User) -> None:
        service.reactivate(user)

    def deactivate(self, user: User) -> None:
        service.deactivate(user)
