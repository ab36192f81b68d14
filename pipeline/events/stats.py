"""Counts of events per minute by source and status, for charts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.events import stats_repository

CACHE = "stats"


def per_minute(session: Session, minutes: int) -> list[dict[str, Any]]:
    return [
        {"minute": r.minute.isoformat(), "source": r.source, "status": r.status, "count": r.n}
        for r in stats_repository.per_minute(session, minutes)
    ]


def latency(session: Session, minutes: int) -> dict[str, Any]:
    """Seconds from receipt to processed (p50, p99) of events received in the window."""
    row = stats_repository.latency(session, minutes)
    return {
        "p50": float(row.p50) if row.p50 is not None else None,
        "p99": float(row.p99) if row.p99 is not None else None,
        "count": int(row.n),
    }
