"""The auth domain's SQL: staff accounts, login sessions and their tokens, console
cookies, login codes and API keys. Functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from schema.staff import (
    ApiKey,
    ConsoleSession,
    LoginCode,
    RefreshToken,
    StaffSession,
    StaffUser,
)


def _rowcount(result: object) -> int:
    # Session.execute is typed as returning a Result; a DML statement's has a rowcount.
    return int(getattr(result, "rowcount", 0) or 0)


# Staff accounts


def staff_by_email(session: Session, email: str) -> StaffUser | None:
    """The account of an already normalized address."""
    return session.scalar(select(StaffUser).where(StaffUser.email == email))


def staff_email_taken(session: Session, email: str) -> bool:
    return session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None


def all_staff(session: Session) -> Sequence[StaffUser]:
    return session.scalars(select(StaffUser).order_by(StaffUser.id)).all()


# Login sessions and refresh tokens


def open_login_counts(session: Session, now: datetime) -> dict[int, int]:
    """{staff id: login sessions neither revoked nor expired at `now`}."""
    rows = session.execute(
        select(StaffSession.staff_id, func.count())
        .where(StaffSession.revoked_at.is_(None), StaffSession.expires_at > now)
        .group_by(StaffSession.staff_id)
    )
    return {int(staff_id): int(count) for staff_id, count in rows}


def open_logins_of(session: Session, staff_id: int, now: datetime) -> Sequence[StaffSession]:
    """The account's login sessions neither revoked nor expired, newest first."""
    return session.scalars(
        select(StaffSession)
        .where(
            StaffSession.staff_id == staff_id,
            StaffSession.revoked_at.is_(None),
            StaffSession.expires_at > now,
        )
        .order_by(StaffSession.id.desc())
    ).all()


def revoke_unrevoked_logins(session: Session, staff_id: int, at: datetime, reason: str) -> int:
    """Revoke every login session of the account not revoked yet; how many."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
    )
    return _rowcount(result)


def login_with_staff(
    session: Session, login_id: int, staff_id: int
) -> tuple[StaffSession, StaffUser] | None:
    """The login session with its account, when it belongs to that account."""
    found = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(StaffSession.id == login_id, StaffSession.staff_id == staff_id)
    ).first()
    return None if found is None else (found[0], found[1])


def lock_refresh_token_by_hash(session: Session, token_hash: str) -> RefreshToken | None:
    return session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    )


# Console cookies


def console_login_with_staff(
    session: Session, token_hash: str
) -> tuple[StaffSession, StaffUser] | None:
    """The login session a console cookie hash stands for, with its account."""
    found = session.execute(
        select(StaffSession, StaffUser)
        .join(ConsoleSession, ConsoleSession.login_id == StaffSession.id)
        .join(StaffUser, StaffUser.id == StaffSession.staff_id)
        .where(ConsoleSession.token_hash == token_hash)
    ).first()
    return None if found is None else (found[0], found[1])


def console_login(session: Session, token_hash: str) -> StaffSession | None:
    return session.scalar(
        select(StaffSession)
        .join(ConsoleSession, ConsoleSession.login_id == StaffSession.id)
        .where(ConsoleSession.token_hash == token_hash)
    )


# Login codes


def close_open_codes(session: Session, email: str, at: datetime) -> None:
    session.execute(
        update(LoginCode)
        .where(LoginCode.email == email, LoginCode.closed_at.is_(None))
        .values(closed_at=at)
    )


def lock_latest_open_code(session: Session, email: str) -> LoginCode | None:
    """The address' newest code not closed yet, locked: tries on it are counted."""
    return session.scalar(
        select(LoginCode)
        .where(LoginCode.email == email, LoginCode.closed_at.is_(None))
        .order_by(LoginCode.id.desc())
        .limit(1)
        .with_for_update()
    )


# API keys


def api_key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


def api_keys(session: Session, *, include_revoked: bool) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return session.scalars(query).all()


# Retention


def delete_codes_expired_before(session: Session, cutoff: datetime) -> int:
    return _rowcount(session.execute(delete(LoginCode).where(LoginCode.expires_at < cutoff)))


def delete_logins_ended_before(session: Session, cutoff: datetime) -> int:
    """Delete login sessions expired or revoked before `cutoff` (their refresh tokens and
    console cookies go with them)."""
    result = session.execute(
        delete(StaffSession).where(
            or_(StaffSession.expires_at < cutoff, StaffSession.revoked_at < cutoff)
        )
    )
    return _rowcount(result)
