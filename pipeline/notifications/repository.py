"""The outbox's SQL: notification rows added once per dedup key, one or many at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from schema.messaging import Notification


def insert_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Add the rows whose dedup key is new, in one statement: {dedup key: id} of those."""
    unique = list({row["dedup_key"]: row for row in rows}.values())
    if not unique:
        return {}
    stmt = (
        insert(Notification)
        .values(unique)
        .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
        .returning(Notification.dedup_key, Notification.id)
    )
    return {key: id_ for key, id_ in session.execute(stmt)}
