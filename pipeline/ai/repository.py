"""The AI domain's SQL: the records of AI calls. Functions take a session and never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schema.knowledge import AiCall


def delete_calls_before(session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` call records older than `cutoff`; how many went."""
    ids = select(AiCall.id).where(AiCall.at < cutoff).limit(limit).scalar_subquery()
    result = session.execute(delete(AiCall).where(AiCall.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)
