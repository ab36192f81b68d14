"""Old AI call records go: they are for cost and health figures, not an audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from pipeline.ai import repository


def prune_calls(session: Session, cutoff: datetime, batch: int = 5000) -> int:
    """Delete up to `batch` records older than `cutoff`; callers loop while it returns
    `batch` (short transactions)."""
    return repository.delete_calls_before(session, cutoff, batch)
