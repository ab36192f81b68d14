"""The request id of every answer and log line, default security headers, and the last
resort for crashes.

`X-Request-ID` from the client is kept when it is a sane token (`[A-Za-z0-9._-]{1,64}`),
else a new one is made. It is set as the correlation id (outbound calls carry it) and
bound to every log line of the request, and sent back on every answer, errors included.
"""

from __future__ import annotations

import re
import uuid

from loguru import logger
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import unexpected_error
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
            await send(message)

        with correlation(request_id), logger.contextualize(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if started or scope["type"] != "http":
                    raise
                response = unexpected_error(Request(scope), exc)
                await response(scope, receive, send_with_id)
