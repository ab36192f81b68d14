"""Request dependencies: the runtime, the unit of work, the caller and its permissions.

Routes are plain `def` functions: FastAPI runs them in its thread pool, where the
synchronous SQLAlchemy session of the request lives. The unit of work ends before the
answer is sent (`scope="function"`): it commits when the route returned, then runs the
after-commit jobs; it rolls back and runs none when the route raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.auth.principal import Principal
from api.auth.resolve import resolve_token
from api.errors import ProblemError
from api.runtime import ApiRuntime
from pipeline.auth.permissions import ALL_SCOPES
from pipeline.providers.networks import parse_networks, resolve_client
from pipeline.unit_of_work import UnitOfWork, unit_of_work

# Declared in the OpenAPI document, so Swagger UI offers both; neither fails on its own
# (auto_error=False): one of them, or the console's cookie, must resolve.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="AccessToken",
    description="A JWT access token from /api/v1/auth/…, or an API key (`pk_…`).",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="ApiKey", description="An API key (`pk_…`)."
)
UNAUTHENTICATED_HEADERS = {"WWW-Authenticate": 'Bearer realm="pipeline"'}


def get_runtime(connection: HTTPConnection) -> ApiRuntime:
    runtime: ApiRuntime = connection.app.state.runtime
    return runtime


RuntimeDep = Annotated[ApiRuntime, Depends(get_runtime)]


def get_unit_of_work(runtime: RuntimeDep) -> Iterator[UnitOfWork]:
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        yield uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work, scope="function")]


def get_session(uow: UnitOfWorkDep) -> Session:
    return uow.session


SessionDep = Annotated[Session, Depends(get_session)]


def client_ip(connection: HTTPConnection, runtime: ApiRuntime) -> str:
    """The peer address; behind a trusted proxy (TRUSTED_PROXIES), the client it names."""
    peer = connection.client.host if connection.client else None
    proxies = runtime.settings.trusted_proxies
    if proxies:
        forwarded = connection.headers.get("x-forwarded-for")
        peer = resolve_client(peer, forwarded, parse_networks(proxies))
    return peer or "unknown"


def unauthenticated(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers=UNAUTHENTICATED_HEADERS)


def authenticate(connection: HTTPConnection, runtime: ApiRuntime) -> Principal:
    """The caller, counted against its rate limit; 401 without valid credentials.

    Every credential presented must be valid and name the same caller: a bad API key
    beside a good token is refused rather than ignored."""
    presented = _presented_credentials(connection)
    found = {value: resolve_token(runtime, value) for value in presented}
    principals = {p for p in found.values() if p is not None}
    principal = next(iter(principals)) if len(principals) == 1 else None
    if principal is not None and None in found.values():
        principal = None
    if not presented:
        for extra in runtime.extra_auth:
            principal = extra(runtime, connection)
            if principal is not None:
                break
    if principal is None:
        runtime.limiter.hit(runtime.limiter.limits.anonymous, "ip", client_ip(connection, runtime))
        if not presented:
            raise unauthenticated("credentials needed: a bearer access token or an X-API-Key")
        raise unauthenticated("the access token or API key is invalid, expired or revoked")
    runtime.limiter.hit(runtime.limiter.limits.authenticated, principal.rate_key)
    return principal


def _presented_credentials(connection: HTTPConnection) -> list[str]:
    found: list[str] = []
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            found.append(value.strip())
    key = (connection.headers.get("x-api-key") or "").strip()
    if key and key not in found:
        found.append(key)
    return found


def get_principal(
    request: Request,
    runtime: RuntimeDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    return authenticate(request, runtime)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(scope: str) -> Callable[..., Principal]:
    """A dependency giving the caller if it holds `scope`: 401 without credentials, 403
    without the scope."""
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(principal: PrincipalDep) -> Principal:
        if not principal.allows(scope):
            raise ProblemError(403, "Forbidden", f"this needs the {scope} permission")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency


def login_rate_limit(request: Request, runtime: RuntimeDep) -> None:
    """The stricter limit of the login endpoints, per client address."""
    runtime.limiter.hit(runtime.limiter.limits.login, "login", client_ip(request, runtime))


LoginRateLimited = Depends(login_rate_limit)
