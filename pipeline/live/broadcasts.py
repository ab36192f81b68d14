"""Broadcast progress announced on the live channel after commit (topic `broadcasts`).

A SQLAlchemy session hook, like the order changes (pipeline.live.orders): whoever moves a
broadcast's outbox row out of pending/failed (a notification worker, `pipeline broadcast`)
or changes the broadcast itself (start, cancel, finish) has its progress published once the
transaction committed, never for a rolled-back change. The counters live on the broadcast
row, added to in the same transaction under its row lock, so concurrent workers never lose
a count and the one that settles the last row marks the broadcast done.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from pipeline.live import repository
from pipeline.live.channel import Topic, announce_committed
from schema.messaging import Broadcast, Notification

OPEN = frozenset({"pending", "failed"})
FAILED = frozenset({"dead", "skipped"})
KIND = "broadcast"
SETTLED = "live_broadcast_settled"  # {broadcast id: Counter(sent=…, failed=…)}
TOUCHED = "live_broadcast_touched"  # broadcast ids changed through the ORM
PENDING = "live_broadcast_pending"


def broadcast_id(dedup_key: str) -> int | None:
    """The broadcast an outbox row belongs to (`broadcast:<id>:<user id>`)."""
    parts = dedup_key.split(":")
    if len(parts) == 3 and parts[0] == KIND and parts[1].isdigit():
        return int(parts[1])
    return None


def progress_item(row: Any) -> dict[str, Any]:
    """The JSON shape of one broadcast's progress."""
    done = row.sent + row.failed
    left = max(row.total - done, 0)  # still to send, or dropped by a cancel
    return {
        "id": row.id,
        "status": row.status,
        "total": row.total,
        "sent": row.sent,
        "failed": row.failed,
        "done": done,
        "remaining": left if row.status == "running" else 0,
        "canceled": left if row.status == "canceled" else 0,
    }


def _settled(session: Session, note: Notification) -> None:
    """Count a broadcast row that left pending/failed in this flush."""
    history = get_history(note, "status")
    before = history.deleted[0] if history.deleted else None
    found = broadcast_id(note.dedup_key)
    if before in OPEN and note.status not in OPEN and found is not None:
        settled: dict[int, Counter[str]] = session.info.setdefault(SETTLED, {})
        settled.setdefault(found, Counter())["sent" if note.status == "sent" else "failed"] += 1


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Notification) and obj.kind == KIND:
            _settled(session, obj)
        elif (
            isinstance(obj, Broadcast)
            and obj.id is not None
            and (obj in session.new or get_history(obj, "status").has_changes())
        ):
            session.info.setdefault(TOUCHED, set()).add(obj.id)


@event.listens_for(Session, "before_commit")
def _freeze(session: Session) -> None:
    session.flush()
    settled: dict[int, Counter[str]] = session.info.pop(SETTLED, {})
    touched: set[int] = session.info.pop(TOUCHED, set())
    items: dict[int, dict[str, Any]] = {}
    for found in sorted(touched - settled.keys()):
        broadcast = session.get(Broadcast, found)
        if broadcast is not None:
            items[found] = progress_item(broadcast)
    for found in sorted(settled):  # in id order: two workers lock the rows alike
        counts = settled[found]
        row = repository.add_to_broadcast_counts(session, found, counts["sent"], counts["failed"])
        if row is not None:
            items[found] = progress_item(row)
    if items:
        session.info.setdefault(PENDING, []).extend(items.values())


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    items = session.info.pop(PENDING, None)
    if items:
        announce_committed(session, Topic.BROADCASTS, items)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    for key in (PENDING, SETTLED, TOUCHED):
        session.info.pop(key, None)
