"""The request id of every answer and log line, default security headers, and the last
resort for crashes.

`X-Request-ID` from the client is kept when it is a sane token (`[A-Za-z0-9._-]{1,64}`),
else a new one is made. It is set as the correlation id (outbound calls carry it) and
bound to every log line of the request, and sent back on every answer, errors included.
"""

from __future__ import annotations

import re
import time
import uuid

from loguru import logger
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import unexpected_error
from pipeline import metrics
from pipeline.correlation import correlation

HEADER = "x-request-id"
VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Answers are JSON: nothing in them may load or run anything. Pages that need more (the
# docs) set their own policy, which is kept.
DEFAULT_HEADERS = {
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if VALID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """`/api/v1/staff/{staff_id}` for `/api/v1/staff/7`: the path with its parameters put
    back as names (a route of an included router knows only its part of the path)."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    relative = str(getattr(route, "path", ""))
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    full = "/".join(
        f"{{{names[part]}}}" if part in names else part for part in scope["path"].split("/")
    )
    return full if full.endswith(relative) else relative


def observe(scope: Scope, status: int, seconds: float) -> None:
    """Count the answer under its route's template; unmatched paths share one label."""
    template = route_template(scope)
    metrics.API_REQUESTS.labels(template, str(status)).inc()
    metrics.API_LATENCY.labels(template).observe(seconds)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
                for name, value in DEFAULT_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            elif message["type"] == "websocket.accept":
                extra = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                message["headers"] = [*extra, (b"x-request-id", request_id.encode())]
            await send(message)

        status = 500
        began = time.perf_counter()

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send_with_id(message)

        with correlation(request_id), logger.contextualize(request_id=request_id):
            try:
                await self.app(scope, receive, send_counted)
            except Exception as exc:
                if started or scope["type"] != "http":
                    raise
                response = unexpected_error(Request(scope), exc)
                await response(scope, receive, send_counted)
            finally:
                if scope["type"] == "http":
                    observe(scope, status, time.perf_counter() - began)
