"""Alerts that changed since a moment, announced on the live channel after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts import repository
from pipeline.deps import Deps
from pipeline.live.channel import Topic, announce


def announce_changed_since(sessions: sessionmaker[Session], since: datetime, deps: Deps) -> int:
    with sessions() as session:
        changed = repository.changed_since(session, since)
        items = [
            {"key": a.key, "status": a.status, "text": a.text, "total": a.total,
             "last_at": a.last_at.isoformat()}
            for a in changed
        ]  # fmt: skip
    announce(deps, Topic.ALERTS, items)
    return len(items)
