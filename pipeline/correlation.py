"""The correlation id: the receiver's request id, carried in the envelope to the worker
and on to outbound HTTP calls as `X-Request-ID`, so one webhook can be followed in the
logs of every process and of the providers we call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx

HEADER = "X-Request-ID"
_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current() -> str | None:
    return _current.get()


@contextmanager
def correlation(value: str | None) -> Iterator[None]:
    token = _current.set(value or None)
    try:
        yield
    finally:
        _current.reset(token)


def add_header(request: httpx.Request) -> None:
    """httpx request hook: tag the outbound call with the current correlation id."""
    value = _current.get()
    if value and HEADER not in request.headers:
        request.headers[HEADER] = value


def client_hooks() -> dict[str, list[Callable[..., Any]]]:
    return {"request": [add_header]}
