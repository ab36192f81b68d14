"""Payment events of one batch applied together: one statement per step, not per event.

The batch's orders are locked in one SELECT that also reads their buyers, its payments
locked (or created) in one INSERT ... ON CONFLICT, the orders its payments are already
linked to (and their buyers) in one SELECT each. Then every event goes through the same
decision as on its own (`service.decide`), in the batch's order, against those rows in
memory: two events for one payment, or for one order, see each other's changes as they
would one at a time. Those rows are detached from the session meanwhile; the ones the
decisions changed are written with one UPDATE per table (no ORM flush per row), and the
session hooks that announce order changes are told of them directly.
The receipts and notifications asked for are written with one INSERT each. Rare paths
(a mismatch alert, a refund receipt) write as they go.

If any step fails, the event service rolls the whole batch back and processes each
event on its own in a savepoint (pipeline.events.service), so one bad event cannot fail
its neighbours.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from pipeline.domain.context import DomainContext, deferred
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.live import orders as live_orders
from pipeline.notifications.announce import queue_notifications, user_notification
from pipeline.payments import repository, snapshots
from pipeline.payments.service import Found, apply_event, decide
from pipeline.receipts import service as receipts
from schema.orders import Order, Payment
from schema.users import User


@dataclass
class Collected:
    """Effects kept until the batch is decided, then written together."""

    ctx: DomainContext
    notifications: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)

    def notify(self, user: User, key: str, template: str, params: dict[str, Any]) -> None:
        self.notifications.append(user_notification(user, key, template, params))

    def sell_receipt(self, payment: Payment, order: Order) -> None:
        row = receipts.sell_row(self.ctx.deps, payment, order)
        if row is not None:
            self.receipts.append(row)

    def refund_receipt(self, payment: Payment, order: Order, amount: int) -> None:
        self.write()  # what came before goes in first, as it would one event at a time
        receipts.request_refund(self.ctx, payment, order, amount)

    def write(self) -> None:
        notes, rows = self.notifications, self.receipts
        self.notifications, self.receipts = [], []
        if notes:
            queue_notifications(self.ctx, notes)
        if rows:
            receipts.create_receipts(self.ctx, rows)


def apply_batch(ctx: DomainContext, events: list[PaymentEvent]) -> None:
    session = ctx.session
    named = {e.order_reference for e in events if e.order_reference}
    named_orders, buyers = repository.lock_orders_with_buyers(session, named)
    orders = {o.id: o for o in named_orders}
    payments = repository.lock_payments(session, events)
    linked = {p.order_id for p, _ in payments.values() if p.order_id is not None}
    if linked - orders.keys():
        orders.update(
            (o.id, o) for o in repository.lock_orders(session, ids=linked - orders.keys())
        )
    by_reference = {o.public_id: o for o in orders.values()}
    buyers.update(repository.users(session, {o.user_id for o in orders.values()} - buyers.keys()))
    # The locked rows leave the session, as the events' do (pipeline.events.service): no
    # flush examines them, and what the decisions change is written below, one statement
    # per table, instead of one UPDATE per row.
    rows = Rows(list(orders.values()), [p for p, _ in payments.values()])
    rows.detach(session)

    def linked_order(order_id: int) -> Order | None:
        return orders.get(order_id) or repository.lock_order_by_id(session, order_id)

    def user(user_id: int) -> User | None:
        return buyers.get(user_id) or session.get(User, user_id)

    effects = Collected(ctx)
    found = Found(linked_order=linked_order, user=user, effects=effects, flush=False)
    seen: set[repository.PaymentKey] = set()
    for event in events:
        key = repository.payment_key(event)
        payment, created = payments[key]
        order = by_reference.get(event.order_reference or "")
        decide(ctx, event, payment, created and key not in seen, order, found)
        seen.add(key)
    rows.write(session)
    effects.write()


class UnwrittenChange(RuntimeError):
    """A decision changed a column the set-wise write does not carry: failing the batch
    redoes it one event at a time through the ORM, which writes every column."""


def _all_columns(row: Order | Payment) -> tuple[Any, ...]:
    # JSON values copied: a decision that changed one in place is still seen as a change.
    return tuple(
        copy.deepcopy(v) if isinstance(v, dict | list) else v
        for v in repository.values(row, [c.key for c in row.__table__.columns])
    )


class Rows:
    """The batch's locked orders and payments, detached, with their values as read, so
    that only the rows a decision changed are written. Every column is compared, not only
    the written ones: a change the write would drop fails the batch instead."""

    def __init__(self, orders: list[Order], payments: list[Payment]) -> None:
        self.orders = orders
        self.payments = payments
        self.read = {id(row): _all_columns(row) for rows, _ in self._tables() for row in rows}

    def _tables(self) -> tuple[tuple[list[Any], Any], ...]:
        return (
            (self.orders, repository.ORDER_CHANGES),
            (self.payments, repository.PAYMENT_CHANGES),
        )

    def detach(self, session: Session) -> None:
        for rows, _ in self._tables():
            for row in rows:
                session.expunge(row)

    def changed(self, rows: list[Any], written: Any) -> list[Any]:
        changed = []
        for row in rows:
            now, then = _all_columns(row), self.read[id(row)]
            if now == then:
                continue
            names = [c.key for c in row.__table__.columns]
            dropped = {n for n, a, b in zip(names, now, then, strict=True) if a != b} - {
                *written,
                "updated_at",
            }
            if dropped:
                raise UnwrittenChange(
                    f"{row.__tablename__}.{', '.join(sorted(dropped))} changed in a batch; "
                    "the set-wise write (payments.repository) does not carry it"
                )
            changed.append(row)
        return changed

    def write(self, session: Session) -> None:
        orders = self.changed(self.orders, repository.ORDER_CHANGES)
        payments = self.changed(self.payments, repository.PAYMENT_CHANGES)
        repository.write_orders(session, orders)
        repository.write_payments(session, payments)
        # What the session hooks would have seen in a flush of these rows.
        live_orders.orders_changed(session, [o.id for o in orders])
        snapshots.orders_changed(session, orders)


def applies(event: NormalizedEvent) -> bool:
    """Whether the payments domain has anything to record for `event`."""
    if not isinstance(event, PaymentEvent):
        return False
    # A Telegram pre-checkout query: the bot answers it, there is no payment yet.
    return not (event.provider == "telegram" and event.status is PaymentStatus.PENDING)


def on_payment(ctx: DomainContext, event: NormalizedEvent) -> None:
    """Within a batch the event waits for its neighbours (`apply_batch`); an event
    processed on its own, or in a savepoint, is applied right away."""
    if not isinstance(event, PaymentEvent) or not applies(event):
        return
    batch = deferred(ctx)
    if batch is not None:
        batch.add(apply_batch, event)
    else:
        apply_event(ctx, event)
