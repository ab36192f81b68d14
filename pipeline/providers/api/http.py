"""One bounded HTTP call: timeouts, a few retries with jitter, 4xx never retried."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pipeline.events.errors import PermanentError, TransientError

# Worth asking again: the provider is busy or failing, not refusing.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
ATTEMPTS = 3


class ApiUnavailable(TransientError):
    """The provider's API did not answer usefully; the event is retried later."""


class ApiRejected(PermanentError):
    """The provider's API refused the request (4xx); asking again will not help."""


class NotReady(TransientError):
    """The provider has not finished (a receipt still in the queue); ask again later."""


class _Retry(Exception):
    pass


def timeout(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def call(
    send: Callable[[], httpx.Response],
    what: str,
    *,
    attempts: int = ATTEMPTS,
    max_wait_s: float = 2.0,
) -> httpx.Response:
    """Run `send` until it gets a non-retryable answer; transport errors and 5xx/429 are
    retried `attempts` times in all, then raised as ApiUnavailable. Other statuses are
    returned for the caller to judge."""
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.2, max=max_wait_s),  # full jitter
        retry=retry_if_exception_type(_Retry),
        reraise=True,
    )
    last = "no attempt made"
    try:
        for attempt in retrying:
            with attempt:
                try:
                    response = send()
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                    raise _Retry from exc
                if response.status_code in RETRYABLE_STATUSES:
                    last = f"HTTP {response.status_code}"
                    raise _Retry
                return response
    except _Retry:
        pass
    raise ApiUnavailable(f"{what}: {last} after {attempts} attempts")


def json_body(response: httpx.Response, what: str) -> dict[str, object]:
    try:
        value = response.json()
    except ValueError:
        raise ApiRejected(f"{what}: the answer is not JSON") from None
    if not isinstance(value, dict):
        raise ApiRejected(f"{what}: expected a JSON object")
    return value


def rejected(response: httpx.Response, what: str) -> ApiRejected:
    """An ApiRejected naming the status and a short excerpt (never request secrets)."""
    excerpt = response.text[:200].replace("\n", " ")
    return ApiRejected(f"{what}: HTTP {response.status_code} {excerpt}".strip())
