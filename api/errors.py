"""One error layer: every failure is an RFC 9457 problem document.

Routes raise `ProblemError`; validation errors, unknown routes, rate limits and crashes are
turned into the same shape here, with the request id, so a client parses one format and
an operator can find the log lines of any answer.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from loguru import logger
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.correlation import current
from pipeline.redaction import Redactor
from pipeline.sentry import capture

PROBLEM_TYPE_BASE = "https://pipeline.example/problems/"
MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body/query/path/header, then the field.")
    message: str
    type: str = Field(description="Machine-readable kind, e.g. missing, string_too_short.")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=[PROBLEM_TYPE_BASE + "not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, examples=["event 42 does not exist"])
    instance: str | None = Field(default=None, examples=["/api/v1/events/42"])
    request_id: str | None = Field(default=None, examples=["6f1c2b0e9a8d4f3c"])
    errors: list[FieldError] | None = Field(default=None, description="Field errors (422).")


class ProblemError(Exception):
    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        phrase = HTTPStatus(status).phrase
        self.status = status
        self.title = title or phrase
        self.detail = detail
        self.type = type_ or PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-")
        self.headers = headers or {}
        self.errors = errors
        super().__init__(f"{status} {self.title}: {detail}")


def problem_response(request: Request | None, error: ProblemError) -> JSONResponse:
    body = Problem(
        type=error.type,
        title=error.title,
        status=error.status,
        detail=error.detail,
        instance=request.url.path if request is not None else None,
        request_id=current(),
        errors=error.errors,
    )
    # Masked like a log line: a detail may quote an exception, and the caller's own input
    # (a path, a field) may hold a secret someone pasted in the wrong place.
    return JSONResponse(
        _redactor(request).redact_data(body.model_dump(exclude_none=True)),
        status_code=error.status,
        headers=error.headers,
        media_type=MEDIA_TYPE,
    )


def _redactor(request: Request | None) -> Redactor:
    """The API process's (its runtime's); secrets of known shapes only without an app."""
    runtime = getattr(request.app.state, "runtime", None) if request is not None else None
    return runtime.deps.redactor if runtime is not None else Redactor()


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    found = []
    for item in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in item.get("loc", ())]
        found.append(FieldError(loc=loc, message=str(item.get("msg", "")), type=item["type"]))
    return found


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.message}" for e in errors[:5])
        error = ProblemError(422, "Invalid request", detail, errors=errors)
        return problem_response(request, error)

    async def refused_value(request: Request, exc: Exception) -> JSONResponse:
        # A value the model let through but PostgreSQL refuses (a NUL character, a lone
        # surrogate, a number out of range): the caller's input, so a 422, not a crash.
        logger.warning("database refused a value on {}: {}", request.url.path, exc)
        detail = "a value is out of the range the database accepts"
        return problem_response(request, ProblemError(422, "Invalid request", detail))

    app.add_exception_handler(DataError, refused_value)
    app.add_exception_handler(UnicodeEncodeError, refused_value)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(jsonable_encoder(exc.detail))
        headers: dict[str, Any] = dict(exc.headers or {})
        return problem_response(
            request, ProblemError(exc.status_code, None, detail, headers=headers)
        )


def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A crash: logged with its traceback and request id, answered as a bare 500. Called by
    the request-id middleware, inside the request's log context (see api.middleware)."""
    logger.opt(exception=exc).error("unexpected error on {} {}", request.method, request.url.path)
    capture(exc, path=request.url.path, request_id=current())
    error = ProblemError(500, None, "internal error; the request id names it in the logs")
    return problem_response(request, error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route can answer."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
