"""The operator web console at `/admin`: server-rendered pages (Jinja2 + htmx) on the same
services, staff accounts and permissions as `/api/v1`. See docs/console.md."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.console.auth import api_cookie_auth
from api.console.errors import ConsoleError, LoginRequired
from api.console.pages import ROUTERS
from api.console.render import STATIC, render
from api.runtime import ApiRuntime


class ConsoleStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        # URLs carry a content hash (render.static_url): a changed file is a new URL.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        return response


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _login_required(request: Request, exc: Exception) -> Response:
    target = "/admin/login"
    if request.method == "GET" and request.url.path not in ("/admin", "/admin/"):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = f"/admin/login?{urlencode({'next': path})}"
    if _is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _console_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleError)
    if _is_htmx(request):
        toast = {"toast": {"message": exc.message, "kind": "error"}}
        return HTMLResponse(exc.message, exc.status, headers={"HX-Trigger": json.dumps(toast)})
    return render(request, "error.html", None, status=exc.status, message=exc.message)


def install_console(app: FastAPI, runtime: ApiRuntime) -> None:
    runtime.extra_auth.append(api_cookie_auth)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(ConsoleError, _console_error)

    @app.get("/admin", include_in_schema=False)
    def to_console() -> RedirectResponse:
        return RedirectResponse("/admin/")

    app.mount("/admin/static", ConsoleStatic(directory=STATIC), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
