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

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.live import broadcasts as _live_broadcasts  # noqa: F401  (announces progress)
from pipeline.notifications import broadcast_admin
from pipeline.notifications import broadcast_repository as repository
from pipeline.notifications.repository import any_open
from pipeline.notifications.sender import Sender, send_due
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import unit_of_work
from schema.messaging import Broadcast


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


def start(session: Session, text: str, language: str | None) -> Broadcast:
    """The running broadcast with this text, or a new one with a row per active user."""
    running = repository.running_with_text(session, text, language)
    if running is not None:
        return running
    broadcast = Broadcast(text=text, language=language)
    session.add(broadcast)
    session.flush()
    broadcast.total = repository.add_rows(session, broadcast)
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
    mine = repository.rows_of(broadcast_id)
    with sessions() as session:
        remaining = repository.open_count(session, broadcast_id)
    progress = Progress(total=remaining, started=time.monotonic())

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


def _open(sessions: sessionmaker[Session], mine: ColumnElement[bool]) -> bool:
    with sessions() as session:
        return any_open(session, mine)


def _finish(sessions: sessionmaker[Session], broadcast_id: int, deps: Deps) -> str:
    """Settle the counters from the outbox; done once nothing is left, unless canceled."""
    with unit_of_work(sessions, deps) as uow:
        broadcast = uow.session.get(Broadcast, broadcast_id, with_for_update=True)
        assert broadcast is not None
        counts = broadcast_admin.progress(uow.session, broadcast)
        broadcast.sent, broadcast.failed = counts["sent"], counts["failed"]
        if broadcast.status == "running" and not counts["remaining"]:
            broadcast.status = "done"
            broadcast.finished_at = datetime.now(UTC)
        status = broadcast.status
    return status
