"""The broadcasts' SQL: who a broadcast reaches, its outbox rows written in one statement,
and those rows counted and skipped. A broadcast's rows are the outbox rows whose dedup key
starts with its prefix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pipeline.notifications.repository import OPEN
from schema.messaging import Broadcast, Notification
from schema.users import User

CANCELED = "broadcast canceled"  # the last_error of the rows a cancel skipped


def prefix(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:"


def rows_of(broadcast_id: int) -> ColumnElement[bool]:
    """The outbox rows of one broadcast."""
    return Notification.dedup_key.like(prefix(broadcast_id) + "%")


def audience(language: str | None) -> ColumnElement[bool]:
    """Who a broadcast goes to: active users nobody blocked, in `language` if given."""
    where: list[ColumnElement[bool]] = [User.is_active.is_(True), User.blocked.is_(False)]
    if language is not None:
        where.append(User.language == language)
    return and_(*where)


def audience_size(session: Session, language: str | None) -> int:
    stmt = select(func.count()).select_from(User).where(audience(language))
    return int(session.scalar(stmt) or 0)


def running_with_text(session: Session, text: str, language: str | None) -> Broadcast | None:
    same_language = (
        Broadcast.language.is_(None) if language is None else Broadcast.language == language
    )
    return session.execute(
        select(Broadcast)
        .where(Broadcast.status == "running", Broadcast.text == text, same_language)
        .order_by(Broadcast.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def add_rows(session: Session, broadcast: Broadcast) -> int:
    """One pending outbox row per user of its audience, in one statement; how many."""
    users = select(
        func.concat(literal(prefix(broadcast.id)), User.id),
        User.id,
        User.chat_id,
        literal("broadcast"),
        literal(broadcast.text),
    ).where(audience(broadcast.language))
    stmt = insert(Notification).from_select(
        ["dedup_key", "user_id", "chat_id", "kind", "text"], users
    )
    return len(session.execute(stmt.returning(Notification.id)).all())


def open_count(session: Session, broadcast_id: int) -> int:
    stmt = select(func.count()).where(rows_of(broadcast_id), Notification.status.in_(OPEN))
    return int(session.execute(stmt).scalar_one())


def status_counts(session: Session, broadcast_id: int) -> dict[str, int]:
    """Rows by status; rows a cancel skipped count as "canceled", not "skipped"."""
    by_cancel = func.coalesce(Notification.last_error == CANCELED, False).label("by_cancel")
    rows = session.execute(
        select(Notification.status, by_cancel, func.count())
        .where(rows_of(broadcast_id))
        .group_by(Notification.status, by_cancel)
    ).all()
    counts: dict[str, int] = {}
    for status, canceled, n in rows:
        key = "canceled" if status == "skipped" and canceled else status
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def skip_open(session: Session, broadcast_id: int) -> int:
    """The rows not sent yet are skipped as canceled; how many."""
    result: Any = session.execute(
        update(Notification)
        .where(rows_of(broadcast_id), Notification.status.in_(OPEN))
        .values(status="skipped", last_error=CANCELED),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)
