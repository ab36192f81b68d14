"""Error answers: every rejection is a 4xx with a message; broker trouble is a 503."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from loguru import logger
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.providers.base import NotConfigured, WebhookRejected
from pipeline.sentry import capture
from webhooks.receive import NotEnqueued

RETRY_AFTER_S = "5"


def http_answer(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": "http", "detail": exc.detail},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def loggable_path(request: Request) -> str:
    """The path with its `{kind}` segment shown as a placeholder: an unsigned provider's
    callback path carries its secret token there."""
    kind = request.path_params.get("kind")
    path = request.url.path
    if isinstance(kind, str) and kind and path.endswith("/" + kind):
        return path[: -len(kind)] + "{kind}"
    return path


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(WebhookRejected)
    async def rejected(request: Request, exc: WebhookRejected) -> JSONResponse:
        if isinstance(exc, NotConfigured):  # the same answer as a path that does not exist
            return http_answer(StarletteHTTPException(404))
        client = getattr(request.state, "client_ip", None)
        logger.bind(path=loggable_path(request), client_ip=client).info(
            "rejected {} {}: {}", exc.status, exc.reason, exc.detail
        )
        return JSONResponse({"error": exc.reason, "detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(NotEnqueued)
    async def not_enqueued(request: Request, exc: NotEnqueued) -> JSONResponse:
        return JSONResponse(
            {"error": "unavailable", "detail": "event not accepted, retry later"},
            status_code=503,
            headers={"retry-after": RETRY_AFTER_S},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_answer(exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        path = loggable_path(request)
        logger.opt(exception=exc).error("unexpected error on {}", path)
        capture(exc, path=path, request_id=request.headers.get("x-request-id"))
        return JSONResponse(
            {"error": "internal", "detail": "internal error, nothing was accepted"},
            status_code=500,
        )
