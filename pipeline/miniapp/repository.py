"""The Mini App's SQL: a buyer's cart (one row per product). Functions take the session
and never commit."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from schema.cart import CartItem
from schema.catalog import Product


def cart_items(session: Session, user_id: int) -> list[tuple[CartItem, Product]]:
    """The cart's rows with their products, in the order they were put in."""
    rows = session.execute(
        select(CartItem, Product)
        .join(Product, Product.id == CartItem.product_id)
        .where(CartItem.user_id == user_id)
        .order_by(CartItem.id)
    ).all()
    return [(item, product) for item, product in rows]


def put_in_cart(session: Session, user_id: int, product_id: int, quantity: int) -> None:
    """Set the product's quantity in the cart, adding its row if it has none."""
    session.execute(
        insert(CartItem)
        .values(user_id=user_id, product_id=product_id, quantity=quantity)
        .on_conflict_do_update(
            index_elements=["user_id", "product_id"], set_={"quantity": quantity}
        )
    )


def remove_from_cart(session: Session, user_id: int, product_id: int) -> None:
    session.execute(
        delete(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
    )


def empty_cart(session: Session, user_id: int) -> None:
    session.execute(delete(CartItem).where(CartItem.user_id == user_id))
