"""Deleting what logins leave behind: expired codes, and sessions (with their refresh
tokens) that ended a week ago. Run hourly by beat (`workers.prune_auth`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from schema.staff import LoginCode, StaffSession

CODES_KEPT = timedelta(days=1)
ENDED_SESSIONS_KEPT = timedelta(days=7)  # long enough to look into a revoked login


def purge_expired(session: Session, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    codes = session.execute(delete(LoginCode).where(LoginCode.expires_at < now - CODES_KEPT))
    cutoff = now - ENDED_SESSIONS_KEPT
    ended = session.execute(
        delete(StaffSession).where(
            or_(StaffSession.expires_at < cutoff, StaffSession.revoked_at < cutoff)
        )
    )
    return int(codes.rowcount) + int(ended.rowcount)  # type: ignore[attr-defined]
