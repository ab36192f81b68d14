"""Logging in to the console: by e-mail code (the API's codes, limits and mail) or through
any configured OAuth2/OIDC provider (the API's `OAuthProviders`); logging out.

Before a session exists, the forms are bound to a `console_login` cookie: its CSRF token
protects the code forms, and an OIDC login may only finish in the browser that started it
(no one can log a victim in to the attacker's account). A successful login always starts
a new session with a new cookie value, ending the one the browser had.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.auth.login import login_code_key
from api.auth.oauth import OAuthLoginError, ProviderUnavailable
from api.console import cookies
from api.console.auth import check_csrf, csrf_key, resolve_cookie
from api.console.csrf import FIELD, token_for
from api.console.errors import ConsoleError
from api.console.forms import read_form
from api.console.render import render
from api.deps import RuntimeDep, client_ip
from api.errors import ProblemError
from api.models.auth import CodeRequest, CodeVerify
from api.routes import auth as auth_routes
from api.runtime import ApiRuntime
from pipeline.auth import codes, console_sessions, staff
from pipeline.auth.secrets import sha256_hex
from pipeline.unit_of_work import unit_of_work
from schema.staff import StaffUser

router = APIRouter(prefix="/admin", include_in_schema=False)
HOME = "/admin/"
OAUTH_BINDING_TTL_S = 600


def safe_next(value: str | None) -> str:
    """Where to go after login: a console path only (no open redirect)."""
    if value and value.startswith("/admin") and "//" not in value and "\\" not in value:
        return value
    return HOME


def _binding(request: Request) -> tuple[str, bool]:
    """The login cookie's value, and whether it is new (to be set on the answer)."""
    value = cookies.read(request, cookies.LOGIN)
    if value and 20 <= len(value) <= 100:
        return value, False
    return secrets.token_urlsafe(32), True


def _login_page(
    request: Request,
    runtime: ApiRuntime,
    *,
    step: str = "email",
    email: str = "",
    error: str = "",
    notice: str = "",
    status: int = 200,
    next_path: str = HOME,
) -> Response:
    binding, new = _binding(request)
    providers = [
        {
            "name": c.name,
            "title": c.title,
            "url": f"/admin/login/oauth/{c.name}?{urlencode({'next': next_path})}",
        }
        for c in runtime.oauth.configs.values()
    ]
    response = render(
        request,
        "login.html",
        None,
        status=status,
        csrf_token=token_for(csrf_key(runtime), binding),
        step=step,
        email=email,
        error=error,
        notice=notice,
        providers=providers,
        next_path=next_path,
    )
    if new:
        cookies.put(response, request, cookies.LOGIN, binding, cookies.LOGIN_MAX_AGE_S)
    return response


def _checked_login_form(request: Request, runtime: ApiRuntime, form: dict[str, str]) -> None:
    check_csrf(runtime, cookies.read(request, cookies.LOGIN), form.get(FIELD))


def start_console_session(
    request: Request, runtime: ApiRuntime, account: StaffUser, method: str, next_path: str
) -> Response:
    """The new session (ending the browser's old one), its cookie, the redirect (blocking)."""
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        old = cookies.read(request, cookies.SESSION)
        if old:
            console_sessions.end(uow.session, old, "relogin")
        started = console_sessions.start(
            uow.session,
            uow.session.get_one(StaffUser, account.id),
            method=method,
            ttl_s=runtime.settings.console_session_ttl_s,
            user_agent=request.headers.get("user-agent"),
            ip=client_ip(request, runtime),
        )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    cookies.put(
        response, request, cookies.SESSION, started.cookie, runtime.settings.console_session_ttl_s
    )
    cookies.drop(response, request, cookies.LOGIN)
    return response


@router.get("/login")
def login_page(
    request: Request, runtime: RuntimeDep, next: Annotated[str, Query(max_length=500)] = HOME
) -> Response:
    current = cookies.read(request, cookies.SESSION)
    if current and resolve_cookie(runtime, current) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, runtime, next_path=safe_next(next))


@router.post("/login/code")
async def send_code(request: Request, runtime: RuntimeDep, background: BackgroundTasks) -> Response:
    form = await read_form(request)
    _checked_login_form(request, runtime, form)
    next_path = safe_next(form.get("next"))
    try:
        body = CodeRequest(email=form.get("email", "").strip())
    except ValidationError:
        return _login_page(
            request, runtime, error="Enter an e-mail address.", status=422, next_path=next_path
        )

    def issue() -> None:
        runtime.limiter.hit(runtime.limiter.limits.login, "login", client_ip(request, runtime))
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            auth_routes.request_code(body, uow, runtime, background)

    try:
        await run_in_threadpool(issue)
    except ProblemError as exc:
        return _login_page(request, runtime, error=exc.detail or exc.title, status=exc.status)
    return _login_page(
        request,
        runtime,
        step="code",
        email=staff.normalize_email(body.email),
        notice=auth_routes.CODE_SENT.capitalize() + ".",
        next_path=next_path,
    )


@router.post("/login/verify")
async def verify_code(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    _checked_login_form(request, runtime, form)
    next_path = safe_next(form.get("next"))
    email = form.get("email", "").strip()
    try:
        body = CodeVerify(email=email, code=form.get("code", "").strip())
    except ValidationError:
        return _login_page(
            request,
            runtime,
            step="code",
            email=email,
            error="The code has six digits.",
            status=422,
            next_path=next_path,
        )

    def check() -> StaffUser | None:
        runtime.limiter.hit(runtime.limiter.limits.login, "login", client_ip(request, runtime))
        settings = runtime.settings
        with unit_of_work(
            runtime.sessions, runtime.deps
        ) as uow:  # the counted attempt is committed
            ok = codes.check_code(
                uow.session,
                body.email,
                body.code,
                key=login_code_key(runtime),
                max_attempts=settings.login_code_attempts,
            )
            if not ok:
                return None
            return staff.staff_for_login(
                uow.session,
                body.email,
                signup_domains=settings.staff_signup_domains,
                signup_role=settings.staff_signup_role,
            )

    try:
        account = await run_in_threadpool(check)
    except ProblemError as exc:
        return _login_page(
            request,
            runtime,
            step="code",
            email=email,
            error=exc.detail or exc.title,
            status=exc.status,
            next_path=next_path,
        )
    if account is None:
        return _login_page(
            request,
            runtime,
            step="code",
            email=email,
            error="The code is wrong, expired or used up.",
            status=401,
            next_path=next_path,
        )
    return await run_in_threadpool(
        start_console_session, request, runtime, account, "code", next_path
    )


def _oauth_binding_key(runtime: ApiRuntime, state: str) -> str:
    return f"{runtime.settings.queue_prefix}console:oauth:{state}"


def console_redirect_uri(runtime: ApiRuntime, request: Request, name: str) -> str:
    base = runtime.settings.api_public_url.rstrip("/")
    if base:
        return f"{base}/admin/login/oauth/{name}/callback"
    return str(request.url_for("console_oauth_callback", provider=name))


@router.get("/login/oauth/{provider}")
async def oauth_start(
    provider: str,
    request: Request,
    runtime: RuntimeDep,
    next: Annotated[str, Query(max_length=500)] = HOME,
) -> Response:
    config = runtime.oauth.get(provider)
    if config is None:
        raise ConsoleError(404, f"No login provider {provider!r} is configured.")
    binding, new = _binding(request)
    try:
        await run_in_threadpool(
            runtime.limiter.hit,
            runtime.limiter.limits.login,
            "login",
            client_ip(request, runtime),
        )
        url = await runtime.oauth.start(config, console_redirect_uri(runtime, request, provider))
    except (ProblemError, ProviderUnavailable) as exc:
        return _login_page(request, runtime, error=str(exc), status=502)
    state = parse_qs(urlsplit(url).query)["state"][0]
    value = f"{sha256_hex(binding)} {safe_next(next)}"
    await run_in_threadpool(
        runtime.redis.set, _oauth_binding_key(runtime, state), value, None, OAUTH_BINDING_TTL_S
    )
    response = RedirectResponse(url, status_code=303)
    if new:
        cookies.put(response, request, cookies.LOGIN, binding, cookies.LOGIN_MAX_AGE_S)
    return response


@router.get("/login/oauth/{provider}/callback", name="console_oauth_callback")
async def oauth_callback(
    provider: str,
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(min_length=1, max_length=2048)],
    state: Annotated[str, Query(min_length=1, max_length=200)],
) -> Response:
    config = runtime.oauth.get(provider)
    if config is None:
        raise ConsoleError(404, f"No login provider {provider!r} is configured.")
    raw = await run_in_threadpool(runtime.redis.getdel, _oauth_binding_key(runtime, state))
    text = raw.decode() if isinstance(raw, bytes) else (raw or "")
    bound, _, next_path = text.partition(" ")
    binding = cookies.read(request, cookies.LOGIN)
    if not raw or binding is None or bound != sha256_hex(binding):
        return _login_page(
            request, runtime, error="This login was started elsewhere; start again.", status=401
        )
    try:
        verified = await runtime.oauth.finish(config, code, state)
    except OAuthLoginError as exc:
        return _login_page(request, runtime, error=str(exc), status=401)

    def find() -> StaffUser | None:
        settings = runtime.settings
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            return staff.staff_for_login(
                uow.session,
                verified.email,
                signup_domains=settings.staff_signup_domains,
                signup_role=settings.staff_signup_role,
            )

    account = await run_in_threadpool(find)
    if account is None:
        error = f"{verified.email} has no active staff account."
        return _login_page(request, runtime, error=error, status=403)
    return await run_in_threadpool(
        start_console_session, request, runtime, account, f"oauth:{provider}", next_path
    )


@router.post("/logout")
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    """Ends the session (CSRF-checked: no other site can log an operator out)."""
    form = await read_form(request)
    value = cookies.read(request, cookies.SESSION)
    if value is not None:
        presented = request.headers.get("x-csrf-token") or form.get(FIELD)
        check_csrf(runtime, value, presented)

        def end() -> None:
            with unit_of_work(runtime.sessions, runtime.deps) as uow:
                console_sessions.end(uow.session, value)

        await run_in_threadpool(end)
    response = RedirectResponse("/admin/login", status_code=303)
    cookies.drop(response, request, cookies.SESSION)
    return response
