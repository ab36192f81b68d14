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


_LATENCY = text(
    """
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY secs) AS p99,
           count(*) AS n
    FROM (
        SELECT extract(epoch FROM processed_at - received_at) AS secs
        FROM events
        WHERE status = 'processed' AND received_at >= now() - make_interval(mins => :minutes)
          AND processed_at IS NOT NULL
    ) AS handled
    """
)


def latency(session: Session, minutes: int) -> dict[str, Any]:
    """Seconds from receipt to processed (p50, p99) of events received in the window."""
    row = session.execute(_LATENCY, {"minutes": minutes}).one()
    return {
        "p50": float(row.p50) if row.p50 is not None else None,
        "p99": float(row.p99) if row.p99 is not None else None,
        "count": int(row.n),
    }
