"""Login codes sent by e-mail: six digits, stored keyed-hashed, valid for LOGIN_CODE_TTL_S
and LOGIN_CODE_ATTEMPTS tries. A new code closes the earlier ones of the address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.auth import repository
from pipeline.auth.secrets import keyed_hash, same, six_digits
from pipeline.auth.staff import find_by_email, normalize_email, signup_domain_allowed
from schema.staff import LoginCode


def may_log_in(session: Session, email: str, signup_domains: str) -> bool:
    """Whether a code should be sent: an active account, or an allowed sign-up domain."""
    staff = find_by_email(session, email)
    if staff is not None:
        return staff.active
    return signup_domain_allowed(email, signup_domains)


def issue_code(
    session: Session, email: str, *, key: str, ttl_s: int, now: datetime | None = None
) -> str:
    now = now or datetime.now(UTC)
    email = normalize_email(email)
    repository.close_open_codes(session, email, now)
    code = six_digits()
    session.add(
        LoginCode(
            email=email,
            code_hash=keyed_hash(key, email, code),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    session.flush()
    return code


def check_code(
    session: Session,
    email: str,
    code: str,
    *,
    key: str,
    max_attempts: int,
    now: datetime | None = None,
) -> bool:
    """Whether the code is the address' open one. Every try counts, right or wrong; the
    caller commits either way, so the attempt limit holds."""
    now = now or datetime.now(UTC)
    email = normalize_email(email)
    row = repository.lock_latest_open_code(session, email)
    if row is None or row.expires_at <= now:
        return False
    row.attempts += 1
    ok = same(row.code_hash, keyed_hash(key, email, code.strip()))
    if ok or row.attempts >= max_attempts:
        row.closed_at = now
    session.flush()
    return ok
