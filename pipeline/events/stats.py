"""Counts of events per minute by source and status, for charts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

CACHE = "stats"

_PER_MINUTE = text(
    """
    SELECT date_trunc('minute', received_at) AS minute, source, status, count(*) AS n
    FROM events
    WHERE received_at >= now() - make_interval(mins => :minutes)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """
)


def per_minute(session: Session, minutes: int) -> list[dict[str, Any]]:
    rows = session.execute(_PER_MINUTE, {"minutes": minutes})
    return [
        {"minute": r.minute.isoformat(), "source": r.source, "status": r.status, "count": r.n}
        for r in rows
    ]
