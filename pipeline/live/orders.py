"""Order status changes announced on the live channel after commit (topic `orders`).

A SQLAlchemy session hook, like the order snapshots (pipeline.payments.snapshots): every
code path that creates an order, moves its status or completes a receipt through the ORM
is announced once its transaction committed, never for a rolled-back change. The buyer's
Mini App and the operators' WebSocket both read it; a client that missed a message
re-reads the orders from the database (they are few per buyer, so no cursor is needed).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from pipeline.live import repository
from pipeline.live.channel import Topic, announce_committed
from pipeline.live.repository import receipt_urls as receipt_urls  # the shop reads them here
from schema.orders import Order, Receipt

CHANGED = "live_orders_changed"
PENDING = "live_orders_pending"


# What a client sees of an order (`order_item`), in this order.
_SHOWN = (Order.public_id, Order.user_id, Order.status, Order.amount_minor, Order.currency)


def order_item(order: Order, urls: list[str]) -> dict[str, Any]:
    """The JSON shape of one order change, live and in catch-up alike."""
    return _item([getattr(order, c.key) for c in _SHOWN], urls)


def _item(shown: Sequence[Any], urls: list[str]) -> dict[str, Any]:
    return {**{c.key: value for c, value in zip(_SHOWN, shown, strict=True)}, "receipt_urls": urls}


def orders_changed(session: Session, order_ids: Collection[int]) -> None:
    """Announce these orders once the transaction commits: for status changes written
    without the ORM (the payments batch), which the flush hook below cannot see."""
    session.info.setdefault(CHANGED, set()).update(("order", i) for i in order_ids)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    changed: set[tuple[str, int]] = session.info.setdefault(CHANGED, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Order) and obj.id is not None:
            if obj in session.new or get_history(obj, "status").has_changes():
                changed.add(("order", obj.id))
        elif isinstance(obj, Receipt) and obj.ofd_receipt_url:
            changed.add(("payment", obj.payment_id))


@event.listens_for(Session, "before_commit")
def _freeze(session: Session) -> None:
    session.flush()
    changed: set[tuple[str, int]] | None = session.info.pop(CHANGED, None)
    if not changed:
        return
    order_ids = {i for kind, i in changed if kind == "order"}
    payment_ids = [i for kind, i in changed if kind == "payment"]
    if payment_ids:
        order_ids.update(repository.order_ids_of_payments(session, payment_ids))
    if not order_ids:
        return
    rows = repository.orders_with_receipt_urls(session, order_ids, _SHOWN)
    items = [_item(shown, urls) for shown, urls in rows]
    session.info.setdefault(PENDING, []).extend(items)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    items = session.info.pop(PENDING, None)
    if items:
        announce_committed(session, Topic.ORDERS, items)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(CHANGED, None)
