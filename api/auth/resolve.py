"""From a credential to a principal, for HTTP, WebSocket and any later edge.

A JWT access token is good while its login session is (checked in the database on each
use, so logout is immediate); an API key while it is not revoked.
"""

from __future__ import annotations

from api.auth.principal import Principal
from api.runtime import ApiRuntime
from pipeline.auth import apikeys, sessions
from pipeline.auth.permissions import role_scopes
from pipeline.auth.tokens import looks_like_jwt
from pipeline.unit_of_work import unit_of_work


def resolve_token(runtime: ApiRuntime, token_or_key: str) -> Principal | None:
    """The caller a token or key stands for, None when it stands for nobody. Blocking (it
    reads the database): call it from a thread, e.g. `run_in_threadpool`, in async code."""
    value = token_or_key.strip()
    if apikeys.looks_like_key(value):
        return _from_api_key(runtime, value)
    if looks_like_jwt(value):
        return _from_access_token(runtime, value)
    return None


def _from_api_key(runtime: ApiRuntime, key: str) -> Principal | None:
    with unit_of_work(runtime.sessions, runtime.deps) as uow:  # commits the last-used time
        row = apikeys.find_key(uow.session, key)
        if row is None:
            return None
        return Principal("apikey", row.id, row.name, None, frozenset(row.scopes))


def _from_access_token(runtime: ApiRuntime, token: str) -> Principal | None:
    claims = runtime.signer.verify(token)
    if claims is None:
        return None
    with runtime.sessions() as session:
        found = sessions.active_login(session, claims.session_id, claims.staff_id)
        if found is None:
            return None
        login, staff = found
        return principal_of_staff(staff.id, staff.email, staff.role, login.id)


def principal_of_staff(staff_id: int, email: str, role: str, session_id: int) -> Principal:
    return Principal("staff", staff_id, email, role, role_scopes(role), session_id)
