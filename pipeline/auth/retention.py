"""Deleting what logins leave behind: expired codes, and sessions (with their refresh
tokens) that ended a week ago. Run hourly by beat (`workers.prune_auth`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.auth import repository

CODES_KEPT = timedelta(days=1)
ENDED_SESSIONS_KEPT = timedelta(days=7)  # long enough to look into a revoked login


def purge_expired(session: Session, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    codes = repository.delete_codes_expired_before(session, now - CODES_KEPT)
    ended = repository.delete_logins_ended_before(session, now - ENDED_SESSIONS_KEPT)
    return codes + ended
