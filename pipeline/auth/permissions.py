"""Scopes and roles: the one permission check of every edge."""

from __future__ import annotations

from collections.abc import Iterable

READ_SCOPES = (
    "events:read",
    "orders:read",
    "users:read",
    "catalog:read",
    "broadcasts:read",
    "feedback:read",
    "backups:read",
    "alerts:read",
    "stats:read",
    "providers:read",
    "knowledge:read",
)
OPERATOR_SCOPES = (
    "events:write",
    "orders:write",
    "users:write",
    "catalog:write",
    "broadcasts:write",
    "feedback:write",
    "knowledge:write",
    "notifications:write",
)
ADMIN_SCOPES = ("backups:write", "staff:admin", "apikeys:admin")
ALL_SCOPES = frozenset(READ_SCOPES + OPERATOR_SCOPES + ADMIN_SCOPES)

ROLES: dict[str, frozenset[str]] = {
    "viewer": frozenset(READ_SCOPES),
    "operator": frozenset(READ_SCOPES + OPERATOR_SCOPES),
    "admin": ALL_SCOPES,
}
ROLE_NAMES = tuple(ROLES)


class UnknownScope(ValueError):
    pass


def role_scopes(role: str) -> frozenset[str]:
    """The scopes of a role; an unknown role (a row edited by hand) has none."""
    return ROLES.get(role, frozenset())


def allows(granted: Iterable[str], scope: str) -> bool:
    if scope not in ALL_SCOPES:
        raise UnknownScope(f"unknown scope {scope!r}")  # a typo in a route, not a caller error
    return scope in granted


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes asked for an API key, all known, or UnknownScope naming the wrong one."""
    wanted = frozenset(scopes)
    unknown = sorted(wanted - ALL_SCOPES)
    if unknown:
        raise UnknownScope(f"unknown scope(s): {', '.join(unknown)}")
    if not wanted:
        raise UnknownScope("at least one scope is needed")
    return wanted
