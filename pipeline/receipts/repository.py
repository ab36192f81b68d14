"""The receipts domain's SQL: receipt rows created once per external id, found, counted,
and those due for the register."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pipeline.domain.normalized import ReceiptEvent
from schema.orders import Order, Payment, Receipt
from schema.unnest import column_arrays, unnest_insert
from schema.users import User

COLUMNS = {
    "payment_id": "bigint",
    "kind": "varchar",
    "refund_seq": "integer",
    "register": "varchar",
    "external_id": "varchar",
    "total_minor": "integer",
}
INSERT = unnest_insert("receipts", COLUMNS, "ON CONFLICT DO NOTHING RETURNING external_id, id")


def insert_receipts(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Create the receipts whose external id is new, in one statement: {external id: id}."""
    unique = list({row["external_id"]: row for row in rows}.values())
    if not unique:
        return {}
    found = session.execute(INSERT, column_arrays(unique, COLUMNS))
    return {str(external_id): cast(int, id_) for external_id, id_ in found}


def count_refund_receipts(session: Session, payment_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Receipt)
        .where(Receipt.payment_id == payment_id, Receipt.kind == "sell_refund")
    )
    return int(session.execute(stmt).scalar_one())


def lock_for_report(session: Session, event: ReceiptEvent) -> Receipt | None:
    """The receipt a register's report is about (by its id there, or by ours), locked."""
    ours = [Receipt.register_receipt_id == event.receipt_id]
    if event.payment_reference:
        ours.append(Receipt.external_id == event.payment_reference)
    stmt = select(Receipt).where(or_(*ours)).with_for_update()
    return session.execute(stmt).scalars().first()


def owner(session: Session, receipt: Receipt) -> tuple[Order | None, User | None]:
    payment = session.get(Payment, receipt.payment_id)
    order = session.get(Order, payment.order_id) if payment and payment.order_id else None
    user = session.get(User, order.user_id) if order else None
    return order, user


def waiting_due(session: Session, now: datetime, limit: int) -> list[int]:
    """Receipts waiting for the register whose poll is due, the longest due first."""
    stmt = (
        select(Receipt.id)
        .where(Receipt.status == "wait", Receipt.next_poll_at <= now)
        .order_by(Receipt.next_poll_at)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def pending_since(session: Session, changed_before: datetime, limit: int) -> list[int]:
    """Receipts still pending, unchanged since `changed_before`."""
    stmt = (
        select(Receipt.id)
        .where(Receipt.status == "pending", Receipt.updated_at <= changed_before)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())
