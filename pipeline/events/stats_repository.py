"""SQL of the event charts (pipeline.events.stats). Functions take a session and never
commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

_PER_MINUTE = text(
    """
    SELECT date_trunc('minute', received_at) AS minute, source, status, count(*) AS n
    FROM events
    WHERE received_at >= now() - make_interval(mins => :minutes)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    """
)


def per_minute(session: Session, minutes: int) -> Sequence[Row[Any]]:
    """(minute, source, status, n) of the events received in the last `minutes`."""
    return session.execute(_PER_MINUTE, {"minutes": minutes}).all()


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


def latency(session: Session, minutes: int) -> Row[Any]:
    """(p50, p99, n): seconds from receipt to processed of events received in the window."""
    return session.execute(_LATENCY, {"minutes": minutes}).one()
