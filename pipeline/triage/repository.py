"""The triage domain's SQL: counts over triaged messages. Functions take a session and
never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schema.messaging import FeedbackMessage


def count_urgent_complaints_since(session: Session, since: datetime) -> int:
    """Incoming messages triaged as a complaint of high urgency since `since`."""
    stmt = select(func.count()).where(
        FeedbackMessage.direction == "in",
        FeedbackMessage.created_at >= since,
        FeedbackMessage.triage["topic"].astext == "complaint",
        FeedbackMessage.triage["urgency"].astext == "high",
    )
    return int(session.execute(stmt).scalar_one())
