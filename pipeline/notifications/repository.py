"""The outbox's SQL: notification rows added once per dedup key, one or many at a time;
the next due row claimed for sending; whether any row is still open; the user a direct
message is for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from schema.messaging import Notification
from schema.unnest import column_arrays, unnest_insert
from schema.users import User

OPEN = ("pending", "failed")

COLUMNS = {
    "dedup_key": "varchar",
    "chat_id": "bigint",
    "kind": "varchar",
    "user_id": "bigint",
    "template": "varchar",
    "params": "jsonb",
    "text": "text",
}
INSERT = unnest_insert(
    "notifications", COLUMNS, "ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key, id"
)


def insert_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Add the rows whose dedup key is new, in one statement: {dedup key: id} of those."""
    unique = [
        {**row, "params": json.dumps(row.get("params") or {})}
        for row in {row["dedup_key"]: row for row in rows}.values()
    ]
    if not unique:
        return {}
    found = session.execute(INSERT, column_arrays(unique, COLUMNS))
    return {str(key): cast(int, id_) for key, id_ in found}


def claim_due(
    session: Session, now: datetime, where: ColumnElement[bool] | None = None
) -> Notification | None:
    """The oldest open row that is due (and matches `where`), locked for this
    transaction; rows other senders hold are skipped."""
    stmt = select(Notification).where(
        Notification.status.in_(OPEN),
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.order_by(Notification.id).limit(1).with_for_update(skip_locked=True)
    return session.execute(stmt).scalar_one_or_none()


def any_open(session: Session, where: ColumnElement[bool] | None = None) -> bool:
    """Whether a row (matching `where`) is still to be sent, due now or later."""
    stmt = select(Notification.id).where(Notification.status.in_(OPEN))
    if where is not None:
        stmt = stmt.where(where)
    return session.execute(stmt.limit(1)).first() is not None


def user_by_telegram_id(session: Session, telegram_id: int) -> User | None:
    return session.scalar(select(User).where(User.telegram_id == telegram_id))
