"""Operator broadcasts: one outbox row per active, unblocked user, sent at the shared rate.

The rows are written in one statement when the broadcast starts; sending marks them one
by one, so an interrupted broadcast resumes where it stopped (same text and language:
the running broadcast is picked up again instead of starting a second one).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.live import broadcasts as _live_broadcasts  # noqa: F401  (announces progress)
from pipeline.notifications.repository import any_open
from pipeline.notifications.sender import Sender, send_due
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import unit_of_work
from schema.messaging import Broadcast, Notification
from schema.users import User


@dataclass
class Progress:
    total: int
    done: int = 0
    sent: int = 0
    started: float = 0.0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        return f"\r[{bar}] {self.done}/{self.total} sent {self.sent} ({self.done / elapsed:.1f}/s)"


def prefix(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}:"


def audience(language: str | None) -> Any:
    """Who a broadcast goes to: active users nobody blocked, in `language` if given."""
    where: list[ColumnElement[bool]] = [User.is_active.is_(True), User.blocked.is_(False)]
    if language is not None:
        where.append(User.language == language)
    return and_(*where)


def audience_size(session: Session, language: str | None) -> int:
    stmt = select(func.count()).select_from(User).where(audience(language))
    return int(session.scalar(stmt) or 0)


def start(session: Session, text: str, language: str | None) -> Broadcast:
    """The running broadcast with this text, or a new one with a row per active user."""
    same_language = (
        Broadcast.language.is_(None) if language is None else Broadcast.language == language
    )
    running = session.execute(
        select(Broadcast)
        .where(Broadcast.status == "running", Broadcast.text == text, same_language)
        .order_by(Broadcast.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if running is not None:
        return running
    broadcast = Broadcast(text=text, language=language)
    session.add(broadcast)
    session.flush()
    users = select(
        func.concat(literal(prefix(broadcast.id)), User.id),
        User.id,
        User.chat_id,
        literal("broadcast"),
        literal(text),
    ).where(audience(language))
    stmt = insert(Notification).from_select(
        ["dedup_key", "user_id", "chat_id", "kind", "text"], users
    )
    broadcast.total = len(session.execute(stmt.returning(Notification.id)).all())
    return broadcast


def run(
    sessions: sessionmaker[Session],
    broadcast_id: int,
    api: Sender,
    limiter: RateLimiter,
    deps: Deps,
    show_progress: bool = True,
) -> Progress:
    """Send the broadcast's rows until none is open. `deps`: the process runtime's."""
    with sessions() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        mine = Notification.dedup_key.like(prefix(broadcast_id) + "%")
        remaining = session.execute(
            select(func.count()).where(mine, Notification.status.in_(("pending", "failed")))
        ).scalar_one()
    progress = Progress(total=int(remaining), started=time.monotonic())

    def step(status: str) -> None:
        progress.done += 1
        progress.sent += status == "sent"
        done = progress.done % 10 == 0 or progress.done == progress.total
        if show_progress and done:
            sys.stderr.write(progress.line())
            sys.stderr.flush()

    while _open(sessions, mine):
        if not send_due(
            sessions, api, limiter, budget_s=3600, where=mine, on_result=step, deps=deps
        ):
            time.sleep(0.2)  # only rows told to wait (429) are left
    if show_progress:
        sys.stderr.write("\n")
    _finish(sessions, broadcast_id, deps)
    return progress


def _open(sessions: sessionmaker[Session], mine: Any) -> bool:
    with sessions() as session:
        return any_open(session, mine)


def _finish(sessions: sessionmaker[Session], broadcast_id: int, deps: Deps) -> str:
    """Settle the counters from the outbox; done once nothing is left, unless canceled."""
    from pipeline.notifications.broadcast_admin import progress as counted  # imports us

    with unit_of_work(sessions, deps) as uow:
        broadcast = uow.session.get(Broadcast, broadcast_id, with_for_update=True)
        assert broadcast is not None
        counts = counted(uow.session, broadcast)
        broadcast.sent, broadcast.failed = counts["sent"], counts["failed"]
        if broadcast.status == "running" and not counts["remaining"]:
            broadcast.status = "done"
            broadcast.finished_at = datetime.now(UTC)
        status = broadcast.status
    return status
