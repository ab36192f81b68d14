"""SQL behind what operators see of the providers: how their webhooks fared lately.
Functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

_RECENT = text(
    """
    SELECT source,
           max(received_at) AS last_event_at,
           count(*) FILTER (WHERE received_at >= now() - interval '1 hour') AS last_hour,
           count(*) FILTER (WHERE received_at >= now() - interval '1 hour'
                            AND status IN ('failed', 'dead')) AS errors_last_hour
    FROM events WHERE source = ANY(:sources) GROUP BY source
    """
)


@dataclass(frozen=True, slots=True)
class RecentEvents:
    """One source's events: the latest received, and those of the last hour."""

    last_event_at: datetime | None
    last_hour: int
    errors_last_hour: int  # failed or dead


def recent_events(session: Session, sources: Collection[str]) -> dict[str, RecentEvents]:
    """By source, for those of `sources` that have any stored event."""
    rows = session.execute(_RECENT, {"sources": list(sources)})
    return {
        row.source: RecentEvents(row.last_event_at, int(row.last_hour), int(row.errors_last_hour))
        for row in rows
    }
