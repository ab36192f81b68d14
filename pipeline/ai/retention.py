"""Old AI call records go: they are for cost and health figures, not an audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from schema.knowledge import AiCall


def prune_calls(session: Session, cutoff: datetime, batch: int = 5000) -> int:
    """Delete up to `batch` records older than `cutoff`; callers loop while it returns
    `batch` (short transactions)."""
    ids = select(AiCall.id).where(AiCall.at < cutoff).limit(batch).scalar_subquery()
    result = session.execute(delete(AiCall).where(AiCall.id.in_(ids)))
    return int(getattr(result, "rowcount", 0) or 0)
