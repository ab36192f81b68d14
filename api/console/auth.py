"""Who is using the console: the session cookie to a `Principal`, the permission check of
each page and action, and the CSRF check of every state-changing request.

`ConsoleDep` gives the caller of a page (to the login page without a session);
`require(scope)` gives it only with that permission (403 otherwise); `CsrfForm` is the
checked form of a POST (403 without a valid token). `api_cookie_auth` is registered as
`ApiRuntime.extra_auth`: `/api/v1` and its WebSocket accept the same cookie, but only from
the console's own origin, and a state-changing `/api/v1` call only with `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from api.auth.principal import Principal
from api.auth.resolve import principal_of_staff
from api.console import cookies, csrf
from api.console.errors import ConsoleError, LoginRequired
from api.console.forms import read_form
from api.deps import RuntimeDep, get_runtime
from api.errors import ProblemError
from api.runtime import ApiRuntime
from pipeline.auth import console_sessions
from pipeline.auth.permissions import ALL_SCOPES
from pipeline.unit_of_work import unit_of_work

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Sent by a page's own timed refresh: it does not keep the session from going idle.
POLL_HEADER = "x-console-poll"


@dataclass(frozen=True)
class Console:
    principal: Principal
    csrf_token: str
    cookie: str

    def can(self, scope: str) -> bool:
        return self.principal.allows(scope)


def csrf_key(runtime: ApiRuntime) -> str:
    return runtime.signer.derive(csrf.PURPOSE)


def resolve_cookie(runtime: ApiRuntime, value: str, *, touch: bool = True) -> Principal | None:
    """The staff member of a session cookie value (blocking: reads the database)."""
    with unit_of_work(
        runtime.sessions, runtime.deps
    ) as uow:  # commits the idle clock or an idle end
        active = console_sessions.resolve(
            uow.session, value, idle_s=runtime.settings.console_session_idle_s, touch=touch
        )
    if active is None:
        return None
    return principal_of_staff(active.staff_id, active.email, active.role, active.login_id)


def current_console(request: Request, runtime: RuntimeDep) -> Console:
    value = cookies.read(request, cookies.SESSION)
    polling = request.headers.get(POLL_HEADER) == "1"
    principal = resolve_cookie(runtime, value, touch=not polling) if value else None
    if value is None or principal is None:
        raise LoginRequired()
    return Console(principal, csrf.token_for(csrf_key(runtime), value), value)


ConsoleDep = Annotated[Console, Depends(current_console)]


def require(scope: str) -> Callable[..., Console]:
    """A dependency giving the console caller if it holds `scope`, else a 403 page."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(console: ConsoleDep) -> Console:
        if not console.can(scope):
            raise ConsoleError(403, f"Your role ({console.principal.role}) may not do this.")
        return console

    dependency.__name__ = f"console_require_{scope.replace(':', '_')}"
    return dependency


def check_csrf(runtime: ApiRuntime, binding: str | None, presented: str | None) -> None:
    if not csrf.valid(csrf_key(runtime), binding, presented):
        raise ConsoleError(403, "The form's security token is missing or stale: reload the page.")


async def checked_form(request: Request, console: ConsoleDep) -> dict[str, str]:
    """The form of a state-changing request, once its CSRF token (header or field) is good."""
    form = await read_form(request)
    presented = request.headers.get(csrf.HEADER) or form.get(csrf.FIELD)
    check_csrf(get_runtime(request), console.cookie, presented)
    return form


CsrfForm = Annotated[dict[str, str], Depends(checked_form)]


def same_origin(connection: HTTPConnection, runtime: ApiRuntime) -> bool:
    """False when a browser says the request comes from another site's page."""
    origin = connection.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc.lower()
    allowed = {connection.headers.get("host", "").lower()}
    if runtime.settings.api_public_url:
        allowed.add(urlsplit(runtime.settings.api_public_url).netloc.lower())
    return bool(netloc) and netloc in allowed


def api_cookie_auth(runtime: ApiRuntime, connection: HTTPConnection) -> Principal | None:
    """The console's cookie as a credential of `/api/v1` (an `ApiRuntime.extra_auth`)."""
    value = cookies.read(connection, cookies.SESSION)
    if value is None:
        return None
    websocket = connection.scope["type"] == "websocket"
    if not same_origin(connection, runtime):
        if websocket:
            return None  # closed as unauthenticated: another site's page opened it
        raise ProblemError(403, "Forbidden", "the console's cookie is not accepted cross-origin")
    changes = not websocket and connection.scope["method"] not in SAFE_METHODS
    if changes and not csrf.valid(csrf_key(runtime), value, connection.headers.get(csrf.HEADER)):
        raise ProblemError(
            403, "CSRF token needed", "a cookie-authenticated change needs X-CSRF-Token"
        )
    # A live socket is no sign of a person there (it is re-checked every 30 s): it neither
    # moves the idle clock nor keeps a session from ending idle.
    return resolve_cookie(runtime, value, touch=not websocket)
