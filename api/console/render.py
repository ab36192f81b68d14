"""Rendering console pages: one Jinja2 environment (autoescaped), the security headers of
every console answer, and what every page's template can use.

Templates get `console` (the caller, or None on the login pages), `nav` (the entries the
caller may see), `active` (the current nav key), `csrf_token`, `flashes` and `static()`
(a URL with a content hash, so browsers may cache static files for long).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.console.auth import Console
from api.console.flash import take_flashes
from api.console.nav import NAV
from api.deps import get_runtime

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_URL = "/admin/static/"
HOST_CHARS = re.compile(r"[^A-Za-z0-9.:\[\]-]")


@cache
def static_url(path: str) -> str:
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    return f"{STATIC_URL}{path}?v={digest}"


def content_security_policy(request: Request) -> str:
    """Scripts, styles, images and connections only from this origin; no inline code.
    The WebSocket is named explicitly (older engines do not read 'self' as ws:)."""
    host = HOST_CHARS.sub("", request.headers.get("host", ""))
    ws = f" ws://{host} wss://{host}" if host else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'{ws}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    return env


ENV = _environment()


def secure(response: HTMLResponse, request: Request) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = content_security_policy(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def render(
    request: Request,
    template: str,
    console: Console | None,
    *,
    status: int = 200,
    csrf_token: str = "",
    active: str = "",
    **context: Any,
) -> HTMLResponse:
    """A page or an htmx fragment. Full pages (extending base.html) also show the flashes
    waiting for this session."""
    runtime = get_runtime(request)
    is_htmx = request.headers.get("hx-request") == "true"
    flashes = take_flashes(runtime, console) if console is not None and not is_htmx else []
    html = ENV.get_template(template).render(
        request=request,
        console=console,
        nav=[e for e in NAV if console is not None and console.can(e.scope)],
        active=active,
        csrf_token=console.csrf_token if console is not None else csrf_token,
        flashes=flashes,
        is_htmx=is_htmx,
        **context,
    )
    return secure(HTMLResponse(html, status_code=status), request)
