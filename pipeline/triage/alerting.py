"""The alert when urgent complaints pile up: evaluated by the alert job and right after
each triaged message, so the first burst is seen at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.alerts import set_condition
from pipeline.settings import Settings
from pipeline.triage import repository

URGENT_COMPLAINTS = "urgent_complaints"


def check_urgent_complaints(
    session: Session, settings: Settings, now: datetime | None = None
) -> None:
    now = now or datetime.now(UTC)
    window = settings.ai_urgent_window_s
    count = repository.count_urgent_complaints_since(session, now - timedelta(seconds=window))
    set_condition(
        session,
        URGENT_COMPLAINTS,
        count >= settings.ai_urgent_complaints,
        f"{count} urgent complaints in the last {window // 60} min: see the operators' chat",
        now=now,
        settings=settings,
    )
