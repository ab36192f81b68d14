"""The console's cookies: the session, and the login-form binding before a session exists.

Both are HttpOnly and SameSite=Lax, on path `/` (the console's scripts call `/api/v1` with
the session cookie). Outside localhost they are Secure and carry the `__Host-` prefix, so
no sibling host or plain-HTTP page can set or overwrite them.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SESSION = "console"
LOGIN = "console_login"
LOGIN_MAX_AGE_S = 3600


def is_local(connection: HTTPConnection) -> bool:
    host = (connection.url.hostname or "").lower()
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def name(connection: HTTPConnection, base: str) -> str:
    return base if is_local(connection) else f"__Host-{base}"


def read(connection: HTTPConnection, base: str) -> str | None:
    return connection.cookies.get(name(connection, base)) or None


def put(
    response: Response, connection: HTTPConnection, base: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name(connection, base),
        value,
        max_age=max_age,
        path="/",
        secure=not is_local(connection),
        httponly=True,
        samesite="lax",
    )


def drop(response: Response, connection: HTTPConnection, base: str) -> None:
    response.delete_cookie(
        name(connection, base),
        path="/",
        secure=not is_local(connection),
        httponly=True,
        samesite="lax",
    )
