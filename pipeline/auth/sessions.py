"""Login sessions and their rotating refresh tokens.

Each refresh exchanges the token for a new one; the old one is kept, marked rotated. If a
rotated token is presented again, someone holds a copy: the whole session (the token
family) is revoked, and its holder and the thief both have to log in again.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.auth import repository
from pipeline.auth.secrets import sha256_hex, token
from schema.staff import RefreshToken, StaffSession, StaffUser

REFRESH_PREFIX = "rt_"


@dataclass(frozen=True)
class Issued:
    login: StaffSession
    staff: StaffUser
    refresh_token: str


class RefreshFailure(enum.Enum):
    INVALID = "invalid"  # unknown, expired, or its session ended
    REUSED = "reused"  # a rotated token again: the session is now revoked


def _new_refresh_token(session: Session, login: StaffSession) -> str:
    value = token(REFRESH_PREFIX)
    session.add(RefreshToken(session_id=login.id, token_hash=sha256_hex(value)))
    return value


def start_session(
    session: Session,
    staff: StaffUser,
    *,
    method: str,
    ttl_s: int,
    user_agent: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Issued:
    now = now or datetime.now(UTC)
    login = StaffSession(
        staff_id=staff.id,
        method=method,
        user_agent=(user_agent or "")[:256] or None,
        ip=ip,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(login)
    session.flush()
    staff.last_login_at = now
    refresh = _new_refresh_token(session, login)
    session.flush()
    return Issued(login, staff, refresh)


def rotate(
    session: Session, refresh_token: str, *, now: datetime | None = None
) -> Issued | RefreshFailure:
    """The next refresh token of the session, or why there is none. A REUSED answer has
    revoked the session in this transaction: the caller must commit it."""
    now = now or datetime.now(UTC)
    row = repository.lock_refresh_token_by_hash(session, sha256_hex(refresh_token))
    if row is None:
        return RefreshFailure.INVALID
    login = session.get(StaffSession, row.session_id, with_for_update=True)
    staff = session.get(StaffUser, login.staff_id) if login else None
    if login is None or staff is None or not _usable(login, staff, now):
        return RefreshFailure.INVALID
    if row.rotated_at is not None:
        login.revoked_at, login.revoked_reason = now, "reuse"
        session.flush()
        return RefreshFailure.REUSED
    row.rotated_at = now
    login.last_used_at = now
    refresh = _new_refresh_token(session, login)
    session.flush()
    return Issued(login, staff, refresh)


def _usable(login: StaffSession, staff: StaffUser, now: datetime) -> bool:
    return login.revoked_at is None and login.expires_at > now and staff.active


def active_login(
    session: Session, session_id: int, staff_id: int, *, now: datetime | None = None
) -> tuple[StaffSession, StaffUser] | None:
    """The session an access token names, while it and its account are still good."""
    now = now or datetime.now(UTC)
    found = repository.login_with_staff(session, session_id, staff_id)
    if found is None:
        return None
    login, staff = found
    return (login, staff) if _usable(login, staff, now) else None


def revoke_session(session: Session, login: StaffSession, reason: str) -> None:
    if login.revoked_at is None:
        login.revoked_at, login.revoked_reason = datetime.now(UTC), reason
        session.flush()


def list_sessions(session: Session, staff_id: int) -> Sequence[StaffSession]:
    return repository.open_logins_of(session, staff_id, datetime.now(UTC))
