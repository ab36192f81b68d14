"""Login through OAuth2/OIDC providers: `login` redirects the browser to the provider,
`callback` takes its answer, matches the verified e-mail to a staff account and answers
with tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.auth.login import log_in
from api.auth.oauth import OAuthLoginError, ProviderConfig, ProviderUnavailable, VerifiedEmail
from api.deps import LoginRateLimited, RuntimeDep
from api.errors import ProblemError, error_responses
from api.models.auth import OAuthProviderOut, TokenPair
from api.runtime import ApiRuntime
from pipeline.auth import staff
from pipeline.unit_of_work import unit_of_work

router = APIRouter(prefix="/auth/oauth", tags=["auth"])
CALLBACK_ROUTE = "oauth_callback"


def _provider(runtime: ApiRuntime, name: str) -> ProviderConfig:
    config = runtime.oauth.get(name)
    if config is None:
        raise ProblemError(404, "Not Found", f"no OAuth provider {name!r} is configured")
    return config


def redirect_uri(runtime: ApiRuntime, request: Request, name: str) -> str:
    base = runtime.settings.api_public_url.rstrip("/")
    if base:
        return f"{base}/api/v1/auth/oauth/{name}/callback"
    return str(request.url_for(CALLBACK_ROUTE, provider=name))


@router.get("/providers", summary="Configured OAuth2/OIDC providers")
def providers(runtime: RuntimeDep) -> list[OAuthProviderOut]:
    return [
        OAuthProviderOut(name=c.name, title=c.title, login_url=f"/api/v1/auth/oauth/{c.name}/login")
        for c in runtime.oauth.configs.values()
    ]


@router.get(
    "/{provider}/login",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[LoginRateLimited],
    responses={
        302: {"description": "To the provider's login page"},
        **error_responses(404, 429, 502),
    },
    summary="Start a login with a provider (open in a browser)",
)
async def login(provider: str, request: Request, runtime: RuntimeDep) -> RedirectResponse:
    config = _provider(runtime, provider)
    try:
        url = await runtime.oauth.start(config, redirect_uri(runtime, request, provider))
    except ProviderUnavailable as exc:
        raise ProblemError(502, "Provider unavailable", str(exc)) from None
    return RedirectResponse(url, status_code=302)


@router.get(
    "/{provider}/callback",
    name=CALLBACK_ROUTE,
    dependencies=[LoginRateLimited],
    responses=error_responses(401, 403, 404, 422, 429),
    summary="The provider's redirect back: tokens for the verified e-mail",
)
async def callback(
    provider: str,
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(min_length=1, max_length=2048)],
    state: Annotated[str, Query(min_length=1, max_length=200)],
) -> TokenPair:
    config = _provider(runtime, provider)
    try:
        verified = await runtime.oauth.finish(config, code, state)
    except OAuthLoginError as exc:
        raise ProblemError(401, "Login failed", str(exc)) from None
    return await run_in_threadpool(login_verified, runtime, verified, f"oauth:{provider}", request)


def login_verified(
    runtime: ApiRuntime, verified: VerifiedEmail, method: str, request: Request
) -> TokenPair:
    """Tokens for the staff account of a verified e-mail (created where sign-up is allowed)."""
    settings = runtime.settings
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        account = staff.staff_for_login(
            uow.session,
            verified.email,
            signup_domains=settings.staff_signup_domains,
            signup_role=settings.staff_signup_role,
        )
        if account is None:
            raise ProblemError(403, "Forbidden", f"{verified.email} has no active staff account")
        return log_in(runtime, uow.session, account, method, request)
