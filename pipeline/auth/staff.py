"""Staff accounts: created by an admin (CLI or API), or by a first login from an allowed
e-mail domain when STAFF_SIGNUP_DOMAINS says so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from pipeline.auth import repository
from pipeline.auth.permissions import ROLES, role_scopes
from schema.staff import StaffUser


class StaffError(ValueError):
    """A refused change; `status` is the HTTP status that fits it at an edge."""

    status = 422


class StaffExists(StaffError):
    status = 409


class StaffNotFound(StaffError):
    status = 404


class StaffForbidden(StaffError):
    """The caller may not do this (a role beyond their own scopes)."""

    status = 403


class StaffConflict(StaffError):
    """Refused for the state it would leave (an admin demoting or deactivating themselves)."""

    status = 409


def may_grant(caller_scopes: frozenset[str], role: str | None) -> None:
    """Only a caller holding every scope of a role may give it (an API key with
    `staff:admin` alone cannot make admins)."""
    if role is not None and not role_scopes(role) <= caller_scopes:
        raise StaffForbidden(f"you cannot grant the {role} role")


def get_staff(session: Session, staff_id: int) -> StaffUser:
    row = session.get(StaffUser, staff_id)
    if row is None:
        raise StaffNotFound(f"no staff account {staff_id}")
    return row


def change_staff(
    session: Session,
    row: StaffUser,
    *,
    caller_id: int | None,
    caller_scopes: frozenset[str],
    role: str | None = None,
    active: bool | None = None,
) -> StaffUser:
    """An admin's change of a role or of `active`. Admins cannot demote or deactivate
    themselves, so the last admin cannot lock everyone out by mistake; `caller_id` is the
    caller's staff id (None for an API key)."""
    may_grant(caller_scopes, role)
    if caller_id == row.id and (active is False or (role and role != "admin")):
        raise StaffConflict("you cannot demote or deactivate yourself")
    return update_staff(session, row, role=role, active=active)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return role


def add_staff(session: Session, email: str, role: str) -> StaffUser:
    email = normalize_email(email)
    check_role(role)
    if repository.staff_email_taken(session, email):
        raise StaffExists(f"staff account {email} already exists")
    staff = StaffUser(email=email, role=role, active=True)
    session.add(staff)
    session.flush()
    return staff


def find_by_email(session: Session, email: str) -> StaffUser | None:
    return repository.staff_by_email(session, normalize_email(email))


def list_staff(session: Session) -> Sequence[StaffUser]:
    return repository.all_staff(session)


def update_staff(
    session: Session, staff: StaffUser, *, role: str | None = None, active: bool | None = None
) -> StaffUser:
    if role is not None:
        staff.role = check_role(role)
    if active is not None:
        staff.active = active
        if not active:
            revoke_all_sessions(session, staff.id, "deactivated")
    session.flush()
    return staff


def active_session_counts(session: Session, now: datetime | None = None) -> dict[int, int]:
    """Login sessions (console and API) each account has open now."""
    return repository.open_login_counts(session, now or datetime.now(UTC))


def revoke_all_sessions(session: Session, staff_id: int, reason: str) -> int:
    return repository.revoke_unrevoked_logins(session, staff_id, datetime.now(UTC), reason)


def signup_domain_allowed(email: str, domains: str) -> bool:
    allowed = {d.strip().lower().lstrip("@") for d in domains.split(",") if d.strip()}
    return normalize_email(email).rpartition("@")[2] in allowed


def staff_for_login(
    session: Session, email: str, *, signup_domains: str, signup_role: str
) -> StaffUser | None:
    """The active account of a verified e-mail, created on first login where the domain is
    allowed; None when this address may not log in."""
    staff = find_by_email(session, email)
    if staff is None and signup_domain_allowed(email, signup_domains):
        staff = add_staff(session, email, signup_role)
    if staff is None or not staff.active:
        return None
    return staff
