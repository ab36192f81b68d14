"""SQL for operator alerts (the `alerts` table). Functions take a session and never
commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from schema.operations import Alert

# The stored values of `Alert.status`.
FIRING = "firing"
RESOLVED = "resolved"


def _locked(key: str) -> Select[Alert]:
    """The row of `key`, locked for this transaction and read afresh (not from the
    session's identity map)."""
    return (
        select(Alert)
        .where(Alert.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_or_create(session: Session, key: str, *, text: str, now: datetime) -> Alert:
    """The alert row for `key`, created (resolved) when new, locked for this transaction
    and read afresh: concurrent raisers of one key take turns on its counts."""
    session.execute(
        insert(Alert)
        .values(key=key, status=RESOLVED, text=text, first_at=now, last_at=now)
        .on_conflict_do_nothing(index_elements=[Alert.key])
    )
    return session.scalars(_locked(key)).one()


def lock(session: Session, key: str) -> Alert | None:
    """The alert row for `key` if there is one, locked for this transaction."""
    return session.scalars(_locked(key)).one_or_none()


def firing(session: Session, prefix: str = "") -> list[Alert]:
    """Firing alerts whose key starts with `prefix`, by key."""
    stmt = select(Alert).where(Alert.status == FIRING, Alert.key.startswith(prefix))
    return list(session.scalars(stmt.order_by(Alert.key)))


def firing_then_recent(
    session: Session, *, active: bool = False, limit: int = 100
) -> Sequence[Alert]:
    """Firing alerts first, then the most recently seen (`active`: firing ones only)."""
    stmt = select(Alert).order_by(Alert.status != FIRING, Alert.last_at.desc()).limit(limit)
    if active:
        stmt = stmt.where(Alert.status == FIRING)
    return session.scalars(stmt).all()


def changed_since(session: Session, since: datetime) -> Sequence[Alert]:
    """Alerts seen or resolved at or after `since`."""
    return session.scalars(
        select(Alert).where(or_(Alert.last_at >= since, Alert.resolved_at >= since))
    ).all()
