"""Web console sessions: a random cookie value standing for one staff login session.

The login (`staff_sessions`) carries what every session has: the account, the absolute
expiry, the last use and the revocation. The console adds the hash of its cookie and an
idle timeout: a session unused for longer ends (revoked as "idle") at its next use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.auth import repository, sessions
from pipeline.auth.secrets import sha256_hex, token
from schema.staff import ConsoleSession, StaffSession, StaffUser

COOKIE_PREFIX = "cs_"
METHOD_PREFIX = "console:"
# The idle clock is written at most this often, not on every page.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Started:
    login: StaffSession
    cookie: str  # the value to set; only its hash is stored


@dataclass(frozen=True)
class Active:
    login_id: int
    staff_id: int
    email: str
    role: str


def start(
    session: Session,
    staff: StaffUser,
    *,
    method: str,
    ttl_s: int,
    user_agent: str | None,
    ip: str | None,
) -> Started:
    """A new login session with a new cookie value (never one the browser had before)."""
    issued = sessions.start_session(
        session, staff, method=METHOD_PREFIX + method, ttl_s=ttl_s, user_agent=user_agent, ip=ip
    )
    value = token(COOKIE_PREFIX)
    session.add(ConsoleSession(login_id=issued.login.id, token_hash=sha256_hex(value)))
    session.flush()
    return Started(issued.login, value)


def resolve(
    session: Session, cookie: str, *, idle_s: int, touch: bool = True, now: datetime | None = None
) -> Active | None:
    """Who a cookie value stands for while its session is good. Ends a session found idle
    and moves the idle clock of a used one, unless `touch` is off (a page refreshing
    itself is no sign of a person there): the caller commits."""
    if not cookie.startswith(COOKIE_PREFIX) or len(cookie) > 100:
        return None
    now = now or datetime.now(UTC)
    found = repository.console_login_with_staff(session, sha256_hex(cookie))
    if found is None:
        return None
    login, staff = found
    if sessions.active_login(session, login.id, staff.id, now=now) is None:
        return None
    if now - login.last_used_at > timedelta(seconds=idle_s):
        sessions.revoke_session(session, login, "idle")
        return None
    if touch and now - login.last_used_at > TOUCH_EVERY:
        login.last_used_at = now
        session.flush()
    return Active(login.id, staff.id, staff.email, staff.role)


def end(session: Session, cookie: str, reason: str = "logout") -> None:
    """Revoke the session of a cookie value, if it has one."""
    login = repository.console_login(session, sha256_hex(cookie))
    if login is not None:
        sessions.revoke_session(session, login, reason)


def is_console(login: StaffSession) -> bool:
    return login.method.startswith(METHOD_PREFIX)
