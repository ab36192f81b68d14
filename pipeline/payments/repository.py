"""The payments domain's SQL: orders and payments locked one at a time or a batch at once.

Every lock is taken in a fixed order (orders by id, payments by key), so two workers
locking overlapping sets wait for each other instead of deadlocking.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Table,
    TextClause,
    column,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from schema.orders import Order, Payment
from schema.unnest import column_arrays, unnest_insert, unnest_update
from schema.users import User

PaymentKey = tuple[str, str]


def payment_key(event: PaymentEvent) -> PaymentKey:
    return (event.provider, event.provider_payment_id)


def lock_order(session: Session, reference: str | None) -> Order | None:
    if not reference:
        return None
    stmt = select(Order).where(Order.public_id == reference).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def lock_order_by_id(session: Session, order_id: int) -> Order | None:
    return session.get(Order, order_id, with_for_update=True)


def order_by_public_id(session: Session, public_id: str) -> Order | None:
    """The order, not locked."""
    stmt = select(Order).where(Order.public_id == public_id)
    return session.execute(stmt).scalar_one_or_none()


def last_payment_of(session: Session, order_id: int, statuses: Collection[str]) -> Payment | None:
    """The order's newest payment among `statuses`, not locked."""
    stmt = (
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.in_(statuses))
        .order_by(Payment.id.desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def stale_payments(
    session: Session,
    statuses: Collection[str],
    providers: Collection[str],
    updated_before: datetime,
    limit: int,
) -> list[int]:
    """Ids of payments in `statuses` at `providers` untouched since `updated_before`,
    the longest untouched first."""
    stmt = (
        select(Payment.id)
        .where(
            Payment.status.in_(statuses),
            Payment.updated_at <= updated_before,
            Payment.provider.in_(providers),
        )
        .order_by(Payment.updated_at)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def add_pending_payment(
    session: Session, provider: str, provider_payment_id: str, order: Order
) -> None:
    """The order's payment row, pending; nothing when that payment is stored already."""
    session.execute(
        insert(Payment)
        .values(
            provider=provider,
            provider_payment_id=provider_payment_id,
            order_id=order.id,
            status="pending",
            amount_minor=order.amount_minor,
            currency=order.currency,
        )
        .on_conflict_do_nothing(index_elements=["provider", "provider_payment_id"])
    )


def lock_orders(
    session: Session, references: Collection[str] = (), ids: Collection[int] = ()
) -> list[Order]:
    """The orders named by public id or by id, locked in id order, in one statement."""
    if not references and not ids:
        return []
    stmt = (
        select(Order)
        .where(Order.public_id.in_(sorted(references)) | Order.id.in_(sorted(ids)))
        .order_by(Order.id)
        .with_for_update()
    )
    return list(session.execute(stmt).scalars())


def lock_orders_with_buyers(
    session: Session, references: Collection[str]
) -> tuple[list[Order], dict[int, User]]:
    """`lock_orders` by public id, with the orders' buyers read in the same statement
    (only the orders are locked)."""
    if not references:
        return [], {}
    stmt = (
        select(Order, User)
        .outerjoin(User, User.id == Order.user_id)
        .where(Order.public_id.in_(sorted(references)))
        .order_by(Order.id)
        .with_for_update(of=Order)
    )
    orders: list[Order] = []
    buyers: dict[int, User] = {}
    for order, user in session.execute(stmt):
        orders.append(order)
        if user is not None:
            buyers[user.id] = user
    return orders, buyers


def _upsert(events: Sequence[PaymentEvent]) -> Any:
    """INSERT of the payments' first rows; the no-op DO UPDATE makes PostgreSQL lock and
    return an existing row as well, and `xmax = 0` tells a fresh insert from that."""
    values = insert(Payment).values(
        [
            {
                "provider": e.provider,
                "provider_payment_id": e.provider_payment_id,
                "status": PaymentStatus.PENDING.value,
                "currency": e.currency,
            }
            for e in events
        ]
    )
    return values.on_conflict_do_update(
        index_elements=["provider", "provider_payment_id"],
        set_={"provider": values.excluded.provider},
    ).returning(Payment, literal_column("(xmax = 0)"))


def lock_payment(session: Session, event: PaymentEvent) -> tuple[Payment, bool]:
    """The payment row, locked, in one round trip; True when this call created it."""
    row = session.execute(_upsert([event]), execution_options={"populate_existing": True}).one()
    return row[0], bool(row[1])


_LOCK_MANY_COLUMNS = {
    "provider": "varchar",
    "provider_payment_id": "varchar",
    "status": "varchar",
    "currency": "varchar",
}
# The batch form of `_upsert`, one statement text for any number of payments (schema.unnest).
_LOCK_MANY = unnest_insert(
    "payments",
    _LOCK_MANY_COLUMNS,
    "ON CONFLICT (provider, provider_payment_id) DO UPDATE SET provider = EXCLUDED.provider "
    "RETURNING "
    + ", ".join(f"payments.{c.name}" for c in Payment.__table__.columns)
    + ", (xmax = 0) AS created",
).columns(*Payment.__table__.columns, column("created", Boolean))


def lock_payments(
    session: Session, events: Sequence[PaymentEvent]
) -> dict[PaymentKey, tuple[Payment, bool]]:
    """Each distinct payment of `events`, locked (created where new), in one statement,
    in key order."""
    first: dict[PaymentKey, PaymentEvent] = {}
    for event in events:
        first.setdefault(payment_key(event), event)
    if not first:
        return {}
    rows = [
        {
            "provider": first[key].provider,
            "provider_payment_id": first[key].provider_payment_id,
            "status": PaymentStatus.PENDING.value,
            "currency": first[key].currency,
        }
        for key in sorted(first)
    ]
    stmt = select(Payment, column("created", Boolean)).from_statement(_LOCK_MANY)
    found = session.execute(
        stmt,
        column_arrays(rows, _LOCK_MANY_COLUMNS),
        execution_options={"populate_existing": True},
    )
    locked: dict[PaymentKey, tuple[Payment, bool]] = {}
    for payment, created in found:
        assert isinstance(payment, Payment)
        locked[(payment.provider, payment.provider_payment_id)] = (payment, bool(created))
    return locked


def users(session: Session, ids: Collection[int]) -> dict[int, User]:
    if not ids:
        return {}
    found = session.execute(select(User).where(User.id.in_(sorted(ids)))).scalars()
    return {user.id: user for user in found}


# What the state machine and the money rules may change on a batch's rows: each written
# for all the batch's changed rows at once (schema.unnest), `updated_at` as the ORM would.
ORDER_CHANGES = {"id": "bigint", "status": "varchar"}
PAYMENT_CHANGES = {
    "id": "bigint",
    "order_id": "bigint",
    "status": "varchar",
    "amount_minor": "bigint",
    "paid_minor": "bigint",
    "refunded_minor": "bigint",
    "raw_reference": "varchar",
    "details": "jsonb",
    "mismatch": "text",
    "overpaid_minor": "bigint",
}
_WRITE_ORDERS = unnest_update("orders", "id", ORDER_CHANGES, touch="updated_at")
_WRITE_PAYMENTS = unnest_update("payments", "id", PAYMENT_CHANGES, touch="updated_at")


def values(row: Order | Payment, columns: Collection[str]) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in columns)


def write_orders(session: Session, orders: Sequence[Order]) -> None:
    """The `ORDER_CHANGES` of detached, locked orders, in one statement."""
    _write(session, Order, _WRITE_ORDERS, ORDER_CHANGES, orders)


def write_payments(session: Session, payments: Sequence[Payment]) -> None:
    """The `PAYMENT_CHANGES` of detached, locked payments, in one statement."""
    _write(session, Payment, _WRITE_PAYMENTS, PAYMENT_CHANGES, payments)


def _write(
    session: Session,
    model: type[Order] | type[Payment],
    many: TextClause,
    columns: dict[str, str],
    rows: Sequence[Order | Payment],
) -> None:
    if not rows:
        return
    found = [{name: getattr(row, name) for name in columns} for row in rows]
    if len(found) == 1:
        # One row: a plain UPDATE by key costs PostgreSQL less than unnest's join. On the
        # table, not the entity: the ORM would look for the row among the session's objects.
        table = cast(Table, model.__table__)
        key = found[0].pop("id")
        stmt = update(table).where(table.c.id == key).values(**found[0], updated_at=func.now())
        session.execute(stmt)
        return
    if "details" in columns:
        for row in found:
            row["details"] = None if row["details"] is None else json.dumps(row["details"])
    session.execute(many, column_arrays(found, columns))
